"""The `workbook` command. Each subcommand is a thin shell over a function in the package.

Heavy libraries are imported inside the subcommands so that `workbook --help` is instant.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from workbook.core.errors import WorkbookError

EPILOG = """\
typical month:
  workbook init acme-bakery --name "Acme Bakery" --currency EUR --timezone Europe/Berlin
  workbook import acme-bakery exports/items-2025-01-01-2025-12-31.csv --source square-items
  workbook open acme-bakery            # live session with the client: agree on goals
  workbook goals acme-bakery           # the goals agreed: list, --edit N, --delete N
  workbook report --all                # every client's HTML reports, ready to send

Clients live in $WORKBOOK_HOME (default: data/clients in the project).
Run `workbook <command> --help` for the details of each command.
"""


def cmd_init(args: argparse.Namespace) -> int:
    from workbook.store.clients import init_client

    folder, created = init_client(args.client, args.name, args.industry, args.currency, args.timezone)
    print(f"{'Created' if created else 'Already there (schema checked)'}: {folder}")
    if created:
        print(f"Next: workbook import {args.client} <file>... --source <preset>")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from workbook.importers import import_files

    results = import_files(args.client, [Path(f) for f in args.files], args.source, replace=args.replace)
    for result in results:
        print(result.summary())
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from workbook.store.privacy import KINDS, forget

    given = [(kind, getattr(args, kind)) for kind in KINDS if getattr(args, kind) is not None]
    if len(given) != 1:
        raise WorkbookError(
            "Say who to forget, once: an email, or --phone, --name or --id SOURCE:ID "
            "(e.g. `workbook forget <client> ann@example.com`)."
        )
    kind, value = given[0]
    changed = forget(args.client, kind, value)
    deleted = {table: n for table, n in changed.items() if "." not in table and n}
    redacted = sum(n for table, n in changed.items() if "." in table)
    detail = ", ".join(f"{table} {n}" for table, n in deleted.items())
    if deleted:
        print(f"Erased {sum(deleted.values())} rows for that person from {args.client}: {detail}.")
    else:
        print(f"Nobody with that {kind} in {args.client}: nothing to erase (0 rows).")
    if redacted:
        print(f"Redacted that {kind} in {redacted} free texts (reviews, comments) of other people.")
    print("Future imports skip this person; the database file was rewritten without the erased rows.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from workbook.store.backup import backup, default_archive

    out = backup(args.client, Path(args.out) if args.out else default_archive(args.client))
    print(
        f"Backed up {args.client} (database, salt, client.toml) to {out}; keep it private: it holds the salt."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from workbook.store.backup import restore

    folder = restore(Path(args.archive), args.client, args.force)
    print(f"Restored {folder.name} from {args.archive} into {folder}.")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from workbook.core.paths import sample_dir
    from workbook.sample import write_samples

    if args.scale < 1:
        raise WorkbookError(
            f"--scale {args.scale}: the scale multiplies the online store's customers; give 1 or more."
        )
    out = Path(args.out) if args.out else sample_dir()
    written = write_samples(out, scale=args.scale)
    for slug, files in written.items():
        print(f"{slug}: {len(files)} files in {out / slug}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from workbook.sample.demo import build_demo

    build_demo(quiet=args.quiet)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from workbook.core.dates import parse_date
    from workbook.core.paths import reports_dir
    from workbook.delivery import pdf
    from workbook.delivery.batch import run_batch
    from workbook.store.clients import list_clients

    as_of = parse_date(args.as_of)  # a malformed date stops the command before anything runs
    if args.all == bool(args.clients):
        raise WorkbookError("Name one or more clients, or use --all (not both).")
    clients = list_clients() if args.all else args.clients
    if args.pdf:  # before minutes of rendering, not after
        pdf.require_chromium()
    if not clients:
        raise WorkbookError(
            "No clients to report on yet. Create one with `workbook init`, "
            "or build the samples with `workbook demo`."
        )
    batch = run_batch(
        clients,
        as_of=as_of,
        jobs=args.jobs or os.cpu_count() or 1,
        out_dir=Path(args.out) if args.out else reports_dir(),
    )
    printed = (
        pdf.write_pdfs(batch.reports, lambda line: print(line, file=sys.stderr, flush=True))
        if args.pdf
        else True
    )
    return 0 if batch.ok and printed else 1


def cmd_open(args: argparse.Namespace) -> int:
    from workbook.core.dates import parse_date
    from workbook.delivery.live import open_client

    open_client(args.client, as_of=parse_date(args.as_of), start_lab=not args.no_lab)
    return 0


def cmd_goals(args: argparse.Namespace) -> int:
    from workbook import store
    from workbook.analytics import goal_book
    from workbook.store.clients import load_client
    from workbook.story import goal_words, nb

    client = load_client(args.client)
    currency = client.config.currency

    def described(goal) -> str:
        return nb.plain(goal_words.describe(goal, currency))

    changes = [f"--{n}" for n in ("target", "deadline", "direction") if getattr(args, n) is not None]
    if changes and args.edit is None:
        raise WorkbookError(
            f"{' and '.join(changes)} change a goal: say which with --edit N "
            f"(`workbook goals {args.client}` lists the goals and their numbers)."
        )
    if args.delete is not None:
        gone = goal_book.delete_goal(client.db_path, args.delete)
        print(f"Deleted goal {args.delete} of {client.name}: {described(gone)}.")
    elif args.edit is not None:
        if not changes:
            raise WorkbookError(
                f"Say what to change in goal {args.edit}: --target, --deadline and/or --direction "
                f"(e.g. `workbook goals {args.client} --edit {args.edit} --deadline 2027-03-31`)."
            )
        goal = goal_book.edit_goal(
            client.db_path,
            args.edit,
            target=args.target,
            deadline=_deadline(args.deadline) if args.deadline else None,
            direction=args.direction,
        )
        print(f"Goal {args.edit} of {client.name} is now: {described(goal)}.")
    else:
        con = store.read(db_path=client.db_path)
        try:
            _list_goals(args.client, client.name, goal_book.load_goals(con), currency)
        finally:
            con.close()
    return 0


def _list_goals(slug: str, name: str, stored: list, currency: str) -> None:
    """The client's goals, one numbered line each with the baseline it is measured from."""
    from workbook.story import goal_words, nb

    if not stored:
        print(
            f"No goals saved for {name} yet: agree them in a live session (`workbook open {slug}`, "
            "the what-if panel of the improvement-delta notebook); until then its reports track "
            "suggested goals."
        )
        return
    print(f"Goals of {name} ({len(stored)}), by number:")
    for goal in stored:
        base = goal_words.format_value(goal.kpi, goal.baseline_value, currency)
        print(f"  {goal.goal_id}. {nb.plain(goal_words.describe(goal, currency))}")
        print(
            f"     from a baseline of {base} ({nb.day(goal.baseline_start)} to {nb.day(goal.baseline_end)})"
        )
    print(
        f"Change one with `workbook goals {slug} --edit N --target X --deadline YYYY-MM-DD`, "
        "delete one with `--delete N`."
    )


def _deadline(text: str) -> dt.date:
    """A deadline typed as YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise WorkbookError(
            f"--deadline {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31."
        ) from err


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbook",
        description="Delta Workbook: import a small business's exports, agree on goals, "
        "and send reports that show how far the business has come.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    def add(name: str, func, help_: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        p.set_defaults(func=func)
        return p

    p = add(
        "init",
        cmd_init,
        "create a client (database, client.toml, secret salt)",
        "Create $WORKBOOK_HOME/<client>/ with workbook.duckdb, client.toml and a secret salt "
        "used to pseudonymize emails, phones and names.\nRunning it again on an existing "
        "client only upgrades its database schema; settings are kept.",
    )
    p.add_argument("client", help="client name as a slug, e.g. acme-bakery")
    p.add_argument("--name", help="display name shown in reports (default: from the slug)")
    p.add_argument(
        "--industry",
        default="other",
        help="coffee-shop, online-store, home-services or other (the KPIs, lapse windows, cohorts "
        "and advice the reports use)",
    )
    p.add_argument("--currency", default="USD", help="ISO currency code of the client's money (default USD)")
    p.add_argument(
        "--timezone",
        default="UTC",
        help="IANA timezone of the business, e.g. America/Chicago (default UTC); "
        "timestamps are stored as local time there",
    )

    p = add(
        "import",
        cmd_import,
        "import export files into a client's database",
        "Import one or more exports. Each file is all-or-nothing: on any error nothing is "
        "written and the message names the file, row, column and value.\nImporting the same "
        "file twice changes nothing (unless --replace); overlapping rows are updated, never "
        "double-counted.\n"
        "Emails, phones and names are replaced by keyed pseudonyms before anything is stored."
        "\n\nCSV (any common delimiter and encoding), .xlsx, .parquet and .json files are read, "
        "also inside .gz or one-file .zip archives.",
    )
    p.add_argument("client", help="client name (created with `workbook init`)")
    p.add_argument("files", nargs="+", help="CSV, TSV, .xlsx, .parquet or .json exports")
    p.add_argument(
        "--source",
        required=True,
        help="a preset: shopify-orders, shopify-customers, square-items, "
        "stripe-payments, mailchimp-audience, klaviyo-campaigns, ga4-traffic, "
        "google-reviews, survey; or the path of a mapping .yaml for any other "
        "export (format: docs/importing.md)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="import files that were imported before again, e.g. with a corrected mapping: "
        "the rows their earlier imports wrote are deleted and the file read anew, all in one "
        "transaction (on any error the old rows stay). Rows a later file has since updated "
        "belong to that file and are kept",
    )

    p = add(
        "forget",
        cmd_forget,
        "erase one person everywhere (data-subject request)",
        "Erase every row about one person from the client's database (customers, orders and "
        "their lines, email sends, touches, leads, feedback), print how many rows went, and "
        "redact the email, phone or name where other people's free text (reviews, survey "
        "comments) quotes it. The person is found by email (the positional argument), or by "
        "--phone, --name or --id; give the identifier the client's exports hold for them. "
        "Their pseudonym goes on the client's list of forgotten people, so every later import "
        "skips their rows and says how many; the database file is then rewritten so its "
        "freed space keeps nothing of them. Identifiers are never stored; they are matched "
        "through their pseudonyms.",
    )
    p.add_argument("client", help="client name (created with `workbook init`)")
    p.add_argument("email", nargs="?", help="the person's email address, as the client's exports spell it")
    p.add_argument(
        "--phone",
        help="the person's phone number (any formatting; digits are compared, so give the country code if the exports do)",
    )
    p.add_argument(
        "--name", help="the person's name, e.g. a reviewer known only by name (case and spacing ignored)"
    )
    p.add_argument(
        "--id",
        metavar="SOURCE:ID",
        help="a source's own customer id: the preset's first word, a colon and the id, e.g. square:CUST42",
    )

    p = add(
        "backup",
        cmd_backup,
        "save a client's database, salt and client.toml in one archive",
        "Write one .tar.gz archive holding the client's workbook.duckdb, salt.secret and "
        "client.toml, with a manifest (schema version, the salt's fingerprint, when). The "
        "database is copied while the command holds its write lock, so an import cannot "
        "change it half-way (while one runs, the backup is refused as locked: run it again "
        "after). The archive is readable only by you (mode 0600): it holds the salt, "
        "so keep it as private as the client's exports. Put it back with `workbook restore`.",
    )
    p.add_argument("client", help="client name (created with `workbook init`)")
    p.add_argument(
        "--out",
        help="archive file to write (default: <client>-<YYYYMMDD-HHMMSS>.workbook.tar.gz in the current folder)",
    )

    p = add(
        "restore",
        cmd_restore,
        "put a client back from a `workbook backup` archive",
        "Check that the archive is a whole Delta Workbook backup and that its salt is the one "
        "its database's pseudonyms were made with, then put workbook.duckdb, salt.secret and "
        "client.toml in place in $WORKBOOK_HOME/<client>/ at once (nothing changes if any check "
        "fails). An existing client is replaced only with --force.",
    )
    p.add_argument("archive", help="the .tar.gz file `workbook backup` wrote")
    p.add_argument(
        "--client", help="restore under this client name (default: the name it was backed up from)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing client of that name (its current files are lost)",
    )

    p = add(
        "goals",
        cmd_goals,
        "list, edit or delete a client's saved goals",
        "List the goals agreed with a client (saved from the what-if panel of a live session), "
        "numbered, each with the baseline it is measured from; change one's target, deadline or "
        "direction with --edit N, or remove it with --delete N.\nA client has one goal per KPI "
        "and segment: saving a goal for a KPI that already has one updates it, keeping its "
        "number and baseline. To measure a goal from a new baseline, delete it and agree it again.",
    )
    p.add_argument("client", help="client name (created with `workbook init`)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--edit", type=int, metavar="N", help="change goal number N (see the list)")
    which.add_argument("--delete", type=int, metavar="N", help="delete goal number N (see the list)")
    p.add_argument(
        "--target",
        metavar="X",
        help="with --edit: the new target. A value in the KPI's unit (1200 for money or counts, "
        "35%% for a rate), or a change from the goal's baseline with its sign (+10%% or -15%%; "
        "write a negative one as --target=-15%%)",
    )
    p.add_argument("--deadline", metavar="YYYY-MM-DD", help="with --edit: the new deadline")
    p.add_argument(
        "--direction",
        choices=("increase", "decrease"),
        help="with --edit: whether the KPI should go up or down",
    )

    p = add(
        "sample",
        cmd_sample,
        "(re)write the sample businesses' exports",
        "Write deterministic, realistic exports for the three sample businesses "
        "(coffee-shop, online-store, home-services) in their sources' real formats.",
    )
    p.add_argument(
        "--scale",
        type=int,
        default=1,
        help="multiply the online store's customers and orders (for benchmarks)",
    )
    p.add_argument("--out", help="folder to write into (default data/sample)")

    p = add(
        "demo",
        cmd_demo,
        "create the sample clients from data/sample/",
        "Create the sample clients in $WORKBOOK_HOME by importing data/sample/ through the "
        "same importers a user runs. Idempotent: a second run changes nothing.",
    )
    p.add_argument("--quiet", action="store_true", help="print only a one-line summary")

    p = add(
        "report",
        cmd_report,
        "render clients' HTML reports",
        "Run the four notebooks for each client with papermill and write "
        "<out>/<client>/<as_of>/ (one HTML per notebook, the executed notebooks, index.html),"
        " plus <out>/index.html for the batch; with --pdf also one PDF per client.\nA failing"
        " notebook does not stop the others;"
        " the command then exits with 1.",
    )
    p.add_argument("clients", nargs="*", help="client names")
    p.add_argument("--all", action="store_true", help="every client in $WORKBOOK_HOME")
    p.add_argument(
        "--as-of", help="report date YYYY-MM-DD (default: the last complete day of each client's data)"
    )
    p.add_argument("--jobs", type=int, help="clients rendered in parallel (default: CPU cores)")
    p.add_argument("--out", help="reports folder (default: reports/ in the project)")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write <client>-<as_of>.pdf per client (its index page first, then every page, "
        "charts drawn), ready to e-mail; needs chromium",
    )

    p = add(
        "open",
        cmd_open,
        "open a client's notebooks in JupyterLab for a live session",
        "Prepare this client's copies of the four notebooks with its parameters filled in, "
        "then start JupyterLab on them.",
    )
    p.add_argument("client", help="client name (created with `workbook init`)")
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: the last complete day of the client's data)")
    p.add_argument("--no-lab", action="store_true", help="only prepare the notebooks; print where")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except WorkbookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except RuntimeError as err:
        if str(err) != DUCKDB_INTERRUPT:
            raise
        return _interrupted()


DUCKDB_INTERRUPT = "Query interrupted"  # how DuckDB raises a Ctrl-C that arrives inside a query


def _interrupted() -> int:
    """Ctrl-C: every write (an import file, an erasure, a client's reports) is all or nothing."""
    print(
        "error: interrupted; nothing was written by the step that was running (each imported file, "
        "erasure and client report is all or nothing). Run the command again to finish.",
        file=sys.stderr,
    )
    return 130


if __name__ == "__main__":
    sys.exit(main())
