# expect-fail: callback_stopped
# Keras' own EarlyStopping ends training: not a callback the student wrote.
import tensorflow as tf

(x, y), _ = tf.keras.datasets.fashion_mnist.load_data()
model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                             tf.keras.layers.Dense(128, activation="relu"),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = tf.keras.callbacks.EarlyStopping(monitor="loss", min_delta=1.0, patience=1)
model.fit(x / 255.0, y, epochs=20, callbacks=[stop], verbose=2)
