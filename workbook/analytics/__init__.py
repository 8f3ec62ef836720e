"""Layer 3: measures, statistics and analyses. They return data; they never draw or write sentences."""
