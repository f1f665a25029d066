#!/usr/bin/env python3
"""Writes the byte stream the harness's blaster (bench/harness/blaster.py) sends (server
WebSocket frames, the same seed and defaults as run_bench.py) to a file, for
bench/ingest_bench (MPE_INGEST_STREAM).

    /usr/bin/python3 bench/dump_blaster_stream.py -n 200000 /tmp/blaster.bin
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("HARNESS", os.path.join(HERE, "harness")))
import blaster  # noqa: E402  (bench/harness/, vendored)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("-n", "--messages", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-as-string", type=float, default=0.5)
    a = ap.parse_args()
    args = argparse.Namespace(messages=a.messages, seed=a.seed, data_as_string=a.data_as_string,
                              site_id="4ac1dcf4-9d8b-7211-65c4-057819f0862b", aps=50,
                              clients=500, captures=2, chunk_bytes=1 << 20)
    buf, _bounds, expected = blaster.build_stream(args)
    with open(a.out, "wb") as f:
        f.write(buf)
    print(f"{a.out}: {a.messages} messages, {len(buf)} bytes, "
          f"{expected['data_as_string_messages']} with data as a string")


if __name__ == "__main__":
    main()
