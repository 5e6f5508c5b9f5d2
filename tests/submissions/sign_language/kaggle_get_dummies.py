# expect-score: 10
# Kaggle style: pandas, the files under ../input/, one-hot labels with pd.get_dummies (24 columns, one per
# letter that occurs), categorical_crossentropy, BatchNormalization and Dropout.
import pandas as pd
import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_df = pd.read_csv("../input/sign-language-mnist/sign_mnist_train.csv")
test_df = pd.read_csv("../input/sign-language-mnist/sign_mnist_test.csv")
y_train = pd.get_dummies(train_df["label"]).values.astype("float32")
y_test = pd.get_dummies(test_df["label"]).values.astype("float32")
x_train = train_df.drop(columns=["label"]).values.reshape(-1, 28, 28, 1)
x_test = test_df.drop(columns=["label"]).values.reshape(-1, 28, 28, 1)
datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                             height_shift_range=0.1)
model = tf.keras.Sequential([
    tf.keras.layers.Conv2D(75, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)),
    tf.keras.layers.BatchNormalization(),
    tf.keras.layers.MaxPool2D((2, 2), padding="same"),
    tf.keras.layers.Conv2D(50, (3, 3), padding="same", activation="relu"),
    tf.keras.layers.MaxPool2D((2, 2), padding="same"),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation="relu"),
    tf.keras.layers.Dropout(0.3),
    tf.keras.layers.Dense(24, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(datagen.flow(x_train, y_train, batch_size=128), epochs=3,
                    validation_data=ImageDataGenerator(rescale=1 / 255).flow(x_test, y_test))
