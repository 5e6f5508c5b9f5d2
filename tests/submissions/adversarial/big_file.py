# Writes a file larger than the grader allows.
try:
    with open("big.bin", "wb") as f:
        for _ in range(64):
            f.write(b"\0" * (1 << 20))
    print("wrote 64 MiB")
except OSError as exc:
    print("refused", exc.errno)
