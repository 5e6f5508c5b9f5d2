# expect-score: 10
# The 2019 assignment as students handed it in: its own path, metrics=['acc'] read as logs.get('acc'),
# train_mnist() loading the data itself and returning (epochs, last accuracy).
import tensorflow as tf
from os import path, getcwd, chdir

path = f"{getcwd()}/../tmp2/mnist.npz"


def train_mnist():
    class myCallback(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs={}):
            if(logs.get('acc')>0.99):
                print("\nReached 99% accuracy so cancelling training!")
                self.model.stop_training = True

    mnist = tf.keras.datasets.mnist
    (x_train, y_train),(x_test, y_test) = mnist.load_data(path=path)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    callbacks = myCallback()
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(512, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax)
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['acc'])
    history = model.fit(x_train[:10000], y_train[:10000], epochs=10, callbacks=[callbacks])  # (speed)
    return history.epoch, history.history['acc'][-1]


train_mnist()
