"""python -m engine.serve: the source process; engine.source.Source starts it."""
import argparse
import socket
import sys
import time

BIND_TRIES = 50


def main(argv=None):
    from engine._engine import lib

    ap = argparse.ArgumentParser(prog="python -m engine.serve", description="Serve a deterministic page image.")
    ap.add_argument("--pages", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH")
    where.add_argument("--tcp", metavar="ADDR:PORT")
    args = ap.parse_args(argv)
    if args.unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(args.unix)
    else:
        host, port = args.tcp.rsplit(":", 1)
        for _ in range(BIND_TRIES):  # the veth address may still be settling (DAD is off, but be patient)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, int(port)))
                break
            except OSError as e:
                sock.close()
                err = e
                time.sleep(0.1)
        else:
            print(f"cannot bind {args.tcp} after {BIND_TRIES} tries: {err.strerror}", flush=True)
            return 1
    sock.listen(128)
    print("ready", flush=True)
    return -lib.fa_source_serve(sock.fileno(), args.pages, args.seed)


if __name__ == "__main__":
    sys.exit(main())
