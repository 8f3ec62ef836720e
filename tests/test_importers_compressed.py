"""Compressed exports (.gz, one-file .zip) import like the file inside them."""

from __future__ import annotations

import gzip
import zipfile

import pytest
from test_importers_input import error, orders, table

from workbook.importers import import_files


def test_gzip_and_zip_import_like_the_plain_file(client, tmp_path):
    plain = orders(tmp_path)
    gz = tmp_path / "orders_export_1.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    (result,) = import_files(client, [gz], "shopify-orders")
    assert result.inserted == {"customers": 1, "orders": 1, "order_items": 2}
    assert table(client, "SELECT file_name FROM imports") == [("orders_export_1.csv.gz",)]
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(plain, "orders_export_1.csv")
    again, plain_again = import_files(client, [zipped, plain], "shopify-orders")
    assert again.already_imported and plain_again.already_imported  # same contents, one import
    assert table(client, "SELECT count(*) FROM orders") == [(1,)]


def test_zip_with_several_files_is_refused(client, tmp_path):
    plain = orders(tmp_path)
    zipped = tmp_path / "exports.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(plain, "a.csv")
        archive.write(plain, "b.csv")
    message = error(client, zipped, "shopify-orders")
    assert "exports.zip holds 2 files (a.csv, b.csv)" in message and "one by one" in message


@pytest.mark.parametrize("name", ["orders.csv.gz", "orders.zip"])
def test_truncated_archive_says_download_again(client, tmp_path, name):
    plain = orders(tmp_path)
    packed = gzip.compress(plain.read_bytes()) if name.endswith(".gz") else b"PK\x03\x04broken"
    broken = tmp_path / name
    broken.write_bytes(packed[: len(packed) // 2] if name.endswith(".gz") else packed)
    message = error(client, broken, "shopify-orders")
    assert f"{name} cannot be unpacked" in message and "Download the export again" in message
