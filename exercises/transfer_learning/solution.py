"""Reference solution: course 2, week 3 (transfer learning with InceptionV3 on horses or humans)."""
import tensorflow as tf
from tensorflow.keras import Model, layers
from tensorflow.keras.applications.inception_v3 import InceptionV3
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

local_weights_file = "/tmp/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def train_val_generators(training_dir, validation_dir):
    train_datagen = ImageDataGenerator(rescale=1.0 / 255.0, rotation_range=40, width_shift_range=0.2,
                                       height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                                       horizontal_flip=True)
    train_generator = train_datagen.flow_from_directory(directory=training_dir, batch_size=32,
                                                        class_mode="binary", target_size=(150, 150))
    validation_datagen = ImageDataGenerator(rescale=1.0 / 255.0)
    validation_generator = validation_datagen.flow_from_directory(directory=validation_dir, batch_size=32,
                                                                  class_mode="binary", target_size=(150, 150))
    return train_generator, validation_generator


def create_pre_trained_model(weights_file):
    pre_trained_model = InceptionV3(input_shape=(150, 150, 3), include_top=False, weights=None)
    pre_trained_model.load_weights(weights_file)
    for layer in pre_trained_model.layers:
        layer.trainable = False
    return pre_trained_model


class MyCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) > 0.999:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def output_of_last_layer(pre_trained_model):
    return pre_trained_model.get_layer("mixed7").output


def create_final_model(pre_trained_model, last_output):
    x = layers.Flatten()(last_output)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(1, activation="sigmoid")(x)
    model = Model(inputs=pre_trained_model.input, outputs=x)
    model.compile(optimizer=RMSprop(learning_rate=0.0001), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train_model(train_dir="/tmp/training", validation_dir="/tmp/validation"):
    train_generator, validation_generator = train_val_generators(train_dir, validation_dir)
    pre_trained_model = create_pre_trained_model(local_weights_file)
    model = create_final_model(pre_trained_model, output_of_last_layer(pre_trained_model))
    model.fit(train_generator, validation_data=validation_generator, epochs=20, verbose=2,
              callbacks=[MyCallback()])
    return model

