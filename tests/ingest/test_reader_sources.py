"""The byte layer of the reader (`aipl.warehouse.text_source`): containers, encodings and line ends, without a
warehouse."""

from __future__ import annotations

import gzip

import pytest

from aipl.warehouse import SourceError, container, text_source

CHUNK = 1 << 22  # the reader's chunk size


def test_a_crlf_split_across_chunks_becomes_one_lf(tmp_path):
    body = b"a\n" + b"x" * (CHUNK - 3) + b"\r\n" + b"y\r\nz\n"  # the CRLF straddles the first chunk's end
    path = tmp_path / "split.csv"
    path.write_bytes(body)
    with text_source(path, "utf-8", tmp_path, lf_only=True) as src:
        text = src.path.read_bytes()
    assert text == body.replace(b"\r\n", b"\n")
    assert not list(tmp_path.glob(".aipl-staging-*"))  # the copy is gone once read


def test_check_text_finds_bad_bytes_in_a_file_read_directly(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"a\n" + b"1\n" * CHUNK + "白\n".encode("gbk"))
    with text_source(path, "utf-8", tmp_path) as src:  # DuckDB checks the text itself
        assert not src.temporary
    with pytest.raises(SourceError, match=f"byte {2 + 2 * CHUNK:,} is not valid utf-8"):
        with text_source(path, "utf-8", tmp_path, check_text=True):
            pass


def test_containers_are_known_by_their_bytes_not_their_names(tmp_path):
    path = tmp_path / "plain.csv.gz"  # named gzip, holds text
    path.write_bytes(b"a\n1\n")
    assert container(path) == "none"
    path = tmp_path / "packed.txt"
    path.write_bytes(gzip.compress(b"a\n1\n"))
    assert container(path) == "gzip"
    with text_source(path, "utf-8", tmp_path) as src:
        assert (src.compression, src.temporary) == ("gzip", False)


def test_an_unknown_encoding_is_one_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a\n1\n")
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        with text_source(path, "klingon", tmp_path):
            pass
