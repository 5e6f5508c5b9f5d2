# Fills the working directory with many files, each under the file-size limit.
import time

for i in range(200):
    with open(f"junk{i}.bin", "wb") as f:
        f.write(b"\1" * (8 << 20))
    time.sleep(0.05)
print("wrote everything")
