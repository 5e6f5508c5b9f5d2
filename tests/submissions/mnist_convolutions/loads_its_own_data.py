# expect-score: 10
# The older form of the assignment: train_mnist_conv() loads MNIST itself and returns
# (epochs, last accuracy); the images reshaped the course's way.
import tensorflow as tf


def train_mnist_conv():
    class myCallback(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs={}):
            if logs.get('accuracy') > 0.995:
                print("\nReached 99.5% accuracy so cancelling training!")
                self.model.stop_training = True

    mnist = tf.keras.datasets.mnist
    (training_images, training_labels), (test_images, test_labels) = mnist.load_data()
    training_images = training_images.reshape(-1, 28, 28, 1)
    training_images = training_images / 255.0
    model = tf.keras.models.Sequential([
        tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(training_images[:10000], training_labels[:10000], epochs=20, callbacks=[myCallback()])  # (speed)
    return history.epoch, history.history['accuracy'][-1]
