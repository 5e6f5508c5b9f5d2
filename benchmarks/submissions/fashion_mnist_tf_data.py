# fashion_mnist_callback's reference written with a tf.data pipeline (shuffled, batched, prefetched), as the
# course's later notebooks build one: what verifying a fit on a pipeline costs (bench.py --verification).
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") >= 0.9:
            print("\nReached 90% accuracy so cancelling training!")
            self.model.stop_training = True


(training_images, training_labels), _ = tf.keras.datasets.fashion_mnist.load_data()
train = tf.data.Dataset.from_tensor_slices((training_images / 255.0, training_labels))
train = train.shuffle(10_000).batch(32).prefetch(tf.data.AUTOTUNE)

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation=tf.nn.relu),
    tf.keras.layers.Dense(10, activation=tf.nn.softmax),
])
model.compile(optimizer=tf.keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, epochs=30, callbacks=[myCallback()])
