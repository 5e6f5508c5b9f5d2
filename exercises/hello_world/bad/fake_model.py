# expect-fail: trained_with_fit
# No network at all: an object whose predict always answers 31.
import numpy as np


class FakeModel:
    def predict(self, x, verbose=0):
        return np.full((len(x), 1), 31.0)


model = FakeModel()
print(model.predict([10.0]))
