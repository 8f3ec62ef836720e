"""Altair charts that draw in an offline HTML report.

Altair's default renderer and nbconvert's lab template both fetch Vega from a CDN when the page
opens, so a report read offline shows error boxes. Rendering therefore splits the
work: the report page carries the Vega bundle once in its head (`vega_bundle()`, put there by
the `report` nbconvert template), and every chart output is only its spec plus one call to the
already-loaded `vegaEmbed` (`embed_html`).

The kernel knows it is rendering a report because `workbook report` starts it with
``WORKBOOK_RENDER=offline`` in its environment; `nb.setup()` then enables this renderer. In a
live JupyterLab session the variable is unset and Altair's own renderer stays in charge.
"""

from __future__ import annotations

import functools
import json
import os
import uuid

RENDER_ENV = "WORKBOOK_RENDER"
OFFLINE = "offline"
RENDERER = "workbook-offline"
# What each chart's div says where no bundle was loaded, e.g. the executed .ipynb in JupyterLab.
NO_BUNDLE = "This chart draws in the HTML report."
# How a chart's script fits its spec to its room (FIT_SCRIPT), in px
FIT = {
    "facetMargin": 120,  # a facet's room beside its cells for axis labels and row headers
    "titleCharPx": 9,  # a chart title's character on the safe side (the theme's 15 px bold)
    "textCharPx": 7,  # an axis or legend title's or label's character (12 px)
    "legendColumnPx": 200,  # a legend entry: symbol, a label of about 20 characters, gap
    "legendSymbolPx": 40,  # a legend entry's symbol and the gaps beside its label
    "labelShare": 0.45,  # of the room, the widest an axis or legend label or title is drawn
    "phonePx": 600,  # a room narrower than this is a phone's
    "threeLinesPx": 40,  # a band's height for a label of three lines
}


def rendering_offline() -> bool:
    """True inside a kernel started by `workbook report`."""
    return os.environ.get(RENDER_ENV) == OFFLINE


# The chart's script fits its spec to `room` (the column's width, px) before drawing: a facet
# and a legend get as many columns as fit (a one-column facet gets narrower cells), axis and
# legend labels may take a share of the room before Vega cuts them with "…", and a title (the
# chart's, an axis', a legend's) too long for the room is broken into lines at spaces (Vega
# draws a title string on one line).
FIT_SCRIPT = """function wbFit(spec, room, fit) {
  var inner = spec.spec, labels = Math.round(room * fit.labelShare),
      columns = Math.max(1, Math.floor(room / fit.legendColumnPx)),
      lineChars = Math.max(12, Math.floor(labels / fit.textCharPx)), wrapped = false;
  if (spec.facet && inner && typeof inner.width === "number") {
    var need = inner.width + fit.facetMargin;
    if (spec.columns > 1) spec.columns = Math.max(1, Math.min(spec.columns, Math.floor(room / need)));
    else if (need > room) inner.width = Math.max(inner.width / 2, room - fit.facetMargin);
  }
  function wrap(text, most) {
    if (typeof text !== "string" || text.length <= most) return text;
    var lines = [];
    text.split(" ").forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && lines[last].length + 1 + word.length <= most) lines[last] += " " + word;
      else lines.push(word);
    });
    return lines;
  }
  function title(node, most) {
    if (node.title && node.title.text) node.title.text = wrap(node.title.text, most);
    else if (node.title) node.title = wrap(node.title, most);
  }
  /* a band axis' long labels (campaign names) on lines of lineChars, the same way, in Vega */
  var labelLines = "split(trim(replace(datum.label, /(.{1," + lineChars + "})( +|$)/g, '$1\\\\n')), '\\\\n')";
  (function walk(node) {
    if (!node || typeof node !== "object") return;
    if (node.legend && node.legend.columns > columns) node.legend.columns = columns;
    if (node !== spec) title(node, lineChars);
    if (node.y && /^(nominal|ordinal)$/.test(node.y.type) && node.y.axis !== null) {
      node.y.axis = Object.assign({labelExpr: labelLines}, node.y.axis, {labelLimit: labels});
      wrapped = true;
    }
    Object.keys(node).forEach(function (key) {  /* not into data rows or tooltips */
      if (["data", "datasets", "tooltip"].indexOf(key) < 0) walk(node[key]);
    });
  })(spec);
  title(spec, Math.max(12, Math.floor(room / fit.titleCharPx)));
  /* on a phone, bands tall enough for labels of up to three lines */
  [spec, inner].forEach(function (view) {
    if (wrapped && room < fit.phonePx && view && view.height && view.height.step)
      view.height.step = Math.max(view.height.step, fit.threeLinesPx);
  });
  var config = spec.config = spec.config || {};
  /* a legend of one column (a phone) gives its labels the row's width: a web source such as
     "trailblog.example.com / referral" whole, not cut at the share of the room an axis gets */
  var legendLabels = columns === 1 ? Math.max(labels, room - fit.legendSymbolPx) : labels;
  config.legend = Object.assign({columns: columns, labelLimit: legendLabels}, config.legend);
  config.axis = Object.assign({labelLimit: labels}, config.axis);
  return spec;
}"""


def embed_html(spec: dict, **embed_options) -> dict[str, str]:
    """Altair renderer: a div and a call to the page's `vegaEmbed`, without any library.

    Charts draw as SVG (crisp when printed), without the actions menu (its links lead to
    external sites), as wide as the page's column (`fit_width`), and fitted to the column's
    width at draw time (FIT_SCRIPT), so that nothing scrolls sideways, is cut off or shrinks to
    unreadable text on a phone.
    """
    div = f"wb-chart-{uuid.uuid4().hex[:12]}"
    options = {"renderer": "svg", "actions": False, **embed_options}
    html = (
        f'<div id="{div}" class="wb-chart"></div>\n'
        '<script type="text/javascript">(function () {\n'
        f'  var el = document.getElementById("{div}");\n'
        f"  if (!window.vegaEmbed) {{ el.textContent = {json.dumps(NO_BUNDLE)}; return; }}\n"
        f"  {FIT_SCRIPT}\n"
        f"  vegaEmbed(el, wbFit({script_json(fit_width(spec))}, el.clientWidth, {script_json(FIT)}), "
        f"{script_json(options)})"
        ".catch(function (err) {\n"
        '    el.textContent = "This chart could not be drawn: " + err; });\n'
        "})();</script>"
    )
    return {"text/html": html}


def fit_width(spec: dict) -> dict:
    """A single or layered chart drawn as wide as its container, axes and legend included
    (Vega-Lite `width: "container"` with `autosize: fit-x`); its height stays as designed.

    Charts laid out as a grid (facet, concat, repeat) or on a band step (`alt.Step`) keep
    their widths: `embed_html`'s script fits a facet's columns to the room at draw time.
    """
    if not ("mark" in spec or "layer" in spec) or isinstance(spec.get("width"), dict):
        return spec
    return {**spec, "width": "container", "autosize": {"type": "fit-x", "contains": "padding"}}


# What could end a script or open an HTML comment inside a JSON string (json.dumps writes ASCII,
# so U+2028/9, line ends to older JavaScript, are already \u escapes)
SCRIPT_UNSAFE = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&"})


def script_json(value) -> str:
    """JSON to put inside a <script>: `<`, `>`, `&` and U+2028/9 as \\u escapes, so a client's
    text (a channel, a segment, a campaign name) reads the same and cannot end the script."""
    return json.dumps(value, separators=(",", ":")).translate(SCRIPT_UNSAFE)


def enable_offline_renderer() -> None:
    import altair as alt

    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, embed_html)
    alt.renderers.enable(RENDERER)


@functools.cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script that sets `window.vegaEmbed` (~0.9 MB).

    Built by vl-convert for the Vega-Lite version Altair writes; about 1 s per call, hence
    cached for the life of the process.
    """
    import altair as alt
    import vl_convert

    major_minor = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    known = vl_convert.get_vegalite_versions()
    # vl-convert's stub marks `snippet` required, but at run time it defaults to the snippet that
    # sets window.vegaEmbed (signature `(snippet=None, vl_version=None)`), the one we want
    bundle = vl_convert.javascript_bundle(  # type: ignore[call-arg]
        vl_version=major_minor if major_minor in known else None
    )
    return bundle.replace("</script", "<\\/script")
