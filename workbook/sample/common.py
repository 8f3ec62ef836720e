"""Helpers shared by the sample generators: the fixed calendar, fake people, text formats.

Every sample ends on 2026-10-31 whatever today's date is, so reports of the samples are
reproducible. Fake people use example.com emails and 555-01xx phone numbers (reserved for
fiction), so nothing in the samples can reach a real person.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-11-01")
END = pd.Timestamp("2026-11-01")  # exclusive: the last day with data is 2026-10-31
LAST_DAY = END - pd.Timedelta(days=1)
DAYS = pd.date_range(START, LAST_DAY, freq="D")

FIRST_NAMES = np.array(
    [
        "Ann",
        "Ben",
        "Carla",
        "David",
        "Elena",
        "Frank",
        "Grace",
        "Hector",
        "Iris",
        "James",
        "Kira",
        "Liam",
        "Maya",
        "Noah",
        "Olivia",
        "Pablo",
        "Quinn",
        "Rosa",
        "Sam",
        "Tara",
        "Umar",
        "Vera",
        "Will",
        "Xena",
        "Yusuf",
        "Zoe",
        "Aiden",
        "Bella",
        "Chen",
        "Dana",
        "Eli",
        "Fatima",
        "Gabe",
        "Hana",
        "Ivan",
        "Jade",
        "Kofi",
        "Lena",
        "Marco",
        "Nina",
        "Omar",
        "Priya",
        "Raj",
        "Sofia",
        "Tom",
        "Uma",
        "Victor",
        "Wendy",
        "Yara",
        "Zack",
    ]
)
LAST_NAMES = np.array(
    [
        "Lee",
        "Smith",
        "Garcia",
        "Johnson",
        "Nguyen",
        "Brown",
        "Martinez",
        "Davis",
        "Lopez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Martin",
        "Perez",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Robinson",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Scott",
        "Torres",
        "Hill",
        "Green",
        "Adams",
        "Baker",
        "Nelson",
        "Carter",
        "Mitchell",
        "Roberts",
        "Turner",
        "Phillips",
        "Campbell",
        "Parker",
        "Evans",
        "Edwards",
        "Collins",
        "Stewart",
        "Morris",
        "Rogers",
        "Reed",
        "Cook",
        "Morgan",
    ]
)


def people(rng: np.random.Generator, n: int, first_number: int = 1) -> pd.DataFrame:
    """`n` fake people with unique emails (ann.lee42@example.com) and unique 555-01xx phones.

    The number in the email and the phone both come from the person's index, so two people
    never share an identifier (identity in the importers goes email, phone, id, name).
    """
    index = np.arange(first_number, first_number + n)
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    email = pd.Series(np.char.lower(first.astype(str))).str.cat(
        [pd.Series(np.char.lower(last.astype(str))), pd.Series(index.astype(str))], sep="."
    )
    email = email.str.replace(r"\.(\d+)$", r"\1", regex=True) + "@example.com"
    area = 201 + index // 100  # 201..: one area code per hundred people
    line = 100 + index % 100  # 555-0100 .. 555-0199
    phone = pd.Series(area.astype(str)) + "555" + pd.Series(line.astype(str)).str.zfill(4)
    return pd.DataFrame(
        {"first": first, "last": last, "email": email.to_numpy(), "phone": ("+1" + phone).to_numpy()}
    )


def pick(rng: np.random.Generator, options, shares, n: int) -> np.ndarray:
    """`n` draws from `options` with probabilities proportional to `shares`."""
    p = np.asarray(shares, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(p), size=n, p=p / p.sum())]


def pretty_phone(e164: pd.Series) -> pd.Series:
    """+12015550142 -> (201) 555-0142, as people type it into forms."""
    digits = e164.str.slice(2)
    return "(" + digits.str.slice(0, 3) + ") " + digits.str.slice(3, 6) + "-" + digits.str.slice(6)


def money(values: np.ndarray, symbol: str = "$", negative: str = "minus") -> np.ndarray:
    """Amounts as text: $8.00; negatives as -$8.00 or ($8.00) (negative='parentheses')."""
    values = np.round(np.asarray(values, dtype=float), 2)
    body = pd.Series(np.abs(values)).map("{:,.2f}".format).to_numpy(dtype=object)
    text = symbol + body
    neg = values < 0
    if negative == "parentheses":
        text[neg] = "(" + text[neg] + ")"
    else:
        text[neg] = "-" + text[neg]
    return text


def decimal(values: np.ndarray) -> np.ndarray:
    """Plain amounts with two decimals (84.00), as Shopify and Stripe write them."""
    return pd.Series(np.round(np.asarray(values, dtype=float), 2)).map("{:.2f}".format).to_numpy()


def _localize(local: pd.Series | pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Naive local times made aware: times skipped by spring-forward move forward; repeated
    times on the fall-back night take standard time."""
    stamps = pd.DatetimeIndex(local)
    return stamps.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(stamps), dtype=bool))


def with_offset(local: pd.Series | pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Naive local times -> '2025-12-06 10:37:33 -0500' (the zone's offset on that date)."""
    aware = _localize(local, tz)
    wall = aware.tz_localize(None)
    minutes = np.asarray(
        (wall - aware.tz_convert("UTC").tz_localize(None)) // pd.Timedelta(minutes=1), dtype=np.int64
    )
    codes, uniques = pd.factorize(minutes)
    labels = np.array(
        [f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}{abs(m) % 60:02d}" for m in uniques], dtype=object
    )
    return iso(wall) + " " + labels[codes]


def to_utc(local: pd.Series | pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Naive local times -> naive UTC times (for exports that write UTC, like Stripe)."""
    return _localize(local, tz).tz_convert("UTC").tz_localize(None)


def iso(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Naive timestamps as '2026-03-03 10:00:00'; missing ones as empty text."""
    seconds = np.asarray(pd.DatetimeIndex(stamps), dtype="datetime64[s]")
    text = np.char.replace(np.datetime_as_string(seconds, unit="s"), "T", " ").astype(object)
    text[np.isnat(seconds)] = ""
    return text


def random_times(
    rng: np.random.Generator, days: pd.DatetimeIndex | np.ndarray, hour_weights: np.ndarray
) -> pd.DatetimeIndex:
    """A time on each given day: the hour from `hour_weights` (24 values), then a uniform minute."""
    p = np.asarray(hour_weights, dtype=float)
    hours = rng.choice(24, size=len(days), p=p / p.sum())
    seconds = hours * 3600 + rng.integers(0, 3600, len(days))
    return pd.DatetimeIndex(days).normalize() + pd.to_timedelta(seconds, unit="s")


def token(
    rng: np.random.Generator, n: int, length: int, alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
) -> np.ndarray:
    """`n` random identifiers like Square's or Klaviyo's (not guaranteed unique: see unique_tokens)."""
    letters = np.array(list(alphabet))
    picks = np.ascontiguousarray(letters[rng.integers(0, len(letters), (n, length))])
    return picks.view(f"<U{length}").ravel().astype(object)


def unique_tokens(rng: np.random.Generator, n: int, length: int, prefix: str = "") -> np.ndarray:
    """`n` distinct random identifiers (redrawn until no two collide)."""
    out = token(rng, n, length)
    while True:
        dup = pd.Series(out).duplicated().to_numpy()
        if not dup.any():
            return np.array([prefix + t for t in out], dtype=object) if prefix else out
        out[dup] = token(rng, int(dup.sum()), length)


CHUNK_ROWS = 200_000  # rows formatted and written at a time by the large writers


def chunks(n: int, newest_first: bool = False) -> list[tuple[int, int]]:
    """(start, stop) bounds covering range(n) in CHUNK_ROWS pieces, last piece first when
    `newest_first` (exports that list the newest rows first)."""
    bounds = [(lo, min(lo + CHUNK_ROWS, n)) for lo in range(0, max(n, 1), CHUNK_ROWS)]
    return bounds[::-1] if newest_first else bounds


def write_csv(
    frame: pd.DataFrame | Iterable[pd.DataFrame], path: Path, comment_lines: list[str] | None = None
) -> Path:
    """Write a CSV the way exporters do: header, comma-separated, \\n line ends, no index.

    `frame` may also be an iterable of frames with the same columns (built a chunk at a time,
    so that a large scale never holds the whole table as text): the header is written once and
    the bytes are those of their concatenation. A name ending in `.gz` is written gzip-compressed
    (as vendors deliver large exports), with no timestamp in the header so the bytes stay the same."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        packed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if path.suffix == ".gz" else None
        with io.TextIOWrapper(packed or raw, encoding="utf-8", newline="") as fh:
            for line in comment_lines or []:
                fh.write(line + "\n")
            for i, part in enumerate([frame] if isinstance(frame, pd.DataFrame) else frame):
                part.to_csv(fh, index=False, header=i == 0, lineterminator="\n")
            fh.flush()
            if packed:
                packed.close()
    return path


def write_json(data: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_yaml(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


STAR_ENUM = np.array(["", "ONE", "TWO", "THREE", "FOUR", "FIVE"])


def google_reviews(
    rng: np.random.Generator,
    stars: np.ndarray,
    times: pd.DatetimeIndex,
    tz: str,
    comments: dict[int, list[str]],
    reply_rate: float,
    replies: dict[int, str],
) -> dict:
    """A Google Business Profile reviews file (Takeout / API shape): starRating FIVE..ONE."""
    n = len(stars)
    names = people(rng, n, first_number=90001)
    utc = to_utc(times, tz)
    has_comment = rng.random(n) < 0.8
    has_reply = rng.random(n) < reply_rate
    reply_lag = pd.to_timedelta(rng.integers(3600, 4 * 86400, n), unit="s")
    reviews = []
    for i in range(n):
        stamp = utc[i].strftime("%Y-%m-%dT%H:%M:%SZ")
        review = {
            "reviewId": f"AbFvOq{i:06d}",
            "reviewer": {"displayName": f"{names['first'][i]} {names['last'][i][0]}."},
            "starRating": STAR_ENUM[stars[i]],
            "createTime": stamp,
            "updateTime": stamp,
        }
        options = comments[int(stars[i])]
        if has_comment[i]:
            review["comment"] = options[int(rng.integers(0, len(options)))]
        reply_time = utc[i] + reply_lag[i]
        if has_reply[i] and reply_time < to_utc(pd.DatetimeIndex([END]), tz)[0]:
            review["reviewReply"] = {
                "comment": replies[int(stars[i])],
                "updateTime": reply_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        reviews.append(review)
    reviews.reverse()  # newest first, as the API lists them
    return {
        "reviews": reviews,
        "averageRating": round(float(np.mean(stars)), 1) if n else 0,
        "totalReviewCount": n,
    }
