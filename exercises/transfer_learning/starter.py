import tensorflow as tf
from tensorflow.keras import Model, layers
from tensorflow.keras.applications.inception_v3 import InceptionV3
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

local_weights_file = "/tmp/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def train_val_generators(training_dir, validation_dir):
    # TODO: augment the training pictures (rotation, shifts, shear, zoom, horizontal flips); rescale both.
    train_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
        directory=training_dir, batch_size=32, class_mode="binary", target_size=(150, 150))
    validation_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
        directory=validation_dir, batch_size=32, class_mode="binary", target_size=(150, 150))
    return train_generator, validation_generator


def create_pre_trained_model(weights_file):
    pre_trained_model = InceptionV3(input_shape=(150, 150, 3), include_top=False, weights=None)
    # TODO: load the pre-trained weights from weights_file (before training: they are what you transfer).
    # keep the pre-trained layers as they are: train only your head
    for layer in pre_trained_model.layers:
        layer.trainable = False
    return pre_trained_model


# TODO: a callback whose on_epoch_end stops training (the model's stop_training attribute) once accuracy
# passes 99.9%.


def create_final_model(pre_trained_model):
    # TODO: take the output of the layer 'mixed7' instead of the whole network's.
    last_output = pre_trained_model.output
    x = layers.Flatten()(last_output)
    x = layers.Dense(1, activation="sigmoid")(x)
    model = Model(inputs=pre_trained_model.input, outputs=x)
    model.compile(optimizer=RMSprop(learning_rate=0.0001), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train_model(train_dir="/tmp/training", validation_dir="/tmp/validation"):
    train_generator, validation_generator = train_val_generators(train_dir, validation_dir)
    model = create_final_model(create_pre_trained_model(local_weights_file))
    model.fit(train_generator, validation_data=validation_generator, epochs=1, verbose=2)
    return model
