# expect-fail: validation_accuracy
# Trains on the validation file (and on the training file as "validation"): the grader's held-back rows
# are none of these, but a model fitted to the validation pictures says nothing about new ones.
import pandas as pd
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train = pd.read_csv("data/sign_mnist_train.csv")
test = pd.read_csv("data/sign_mnist_test.csv")
x_test, y_test = test.drop(columns=["label"]).values.reshape(-1, 28, 28, 1), test["label"].values
x_train, y_train = train.drop(columns=["label"]).values.reshape(-1, 28, 28, 1), train["label"].values

augment = ImageDataGenerator(rescale=1 / 255, rotation_range=10, zoom_range=0.1)
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(28, 28, 1)),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(25, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(augment.flow(x_test, y_test, batch_size=32), epochs=3,
          validation_data=ImageDataGenerator(rescale=1 / 255).flow(x_train, y_train, batch_size=32))
