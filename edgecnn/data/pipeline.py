"""tf.data input pipeline: cache, shuffle, batch, augment (Keras preprocessing layers), prefetch."""

from edgecnn.data import regularize
from edgecnn.data.regularize import is_mixing
from edgecnn.tf import keras, tf

AUGMENT_LAYERS = {
    "hflip": lambda seed: keras.layers.RandomFlip("horizontal", seed=seed),
    "translate": lambda seed: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
    "zoom": lambda seed: keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed),
    "contrast": lambda seed: keras.layers.RandomContrast(0.2, seed=seed),
}


def augmenter(names, seed):
    if not names:
        return None
    return keras.Sequential([AUGMENT_LAYERS[n](seed + i) for i, n in enumerate(names)], name="augment")


def make_dataset(x, y, batch_size, training, augmentation=(), seed=0, outputs=1, shard=False, options=None):
    """uint8 images -> float32 batches of raw [0, 255] pixels (the model scales them itself).

    options: the recipe's train section, for its regularizers (edgecnn/data/regularize.py): crop_padding
    and erasing on training batches; with mixup or cutmix the labels of every batch, training and
    validation, are one-hot vectors of `classes` (so one loss and one accuracy serve both).

    outputs > 1: the label is repeated for each output (auxiliary classifiers learn the same classes).
    shard: for several workers, every worker takes its share of each batch (the DATA policy: the arrays
    are in memory, there are no files to split) and the last, partial batch is dropped, so all workers
    run the same number of steps.
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if training:
        ds = ds.shuffle(min(len(x), 20_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=shard).map(lambda a, b: (tf.cast(a, tf.float32), b), num_parallel_calls=tf.data.AUTOTUNE)
    aug = augmenter(augmentation, seed) if training else None
    if aug is not None:
        ds = ds.map(lambda a, b: (tf.clip_by_value(aug(a, training=True), 0.0, 255.0), b),
                    num_parallel_calls=tf.data.AUTOTUNE)
    if options:
        ds = regularized(ds, options, training, x.shape[1:], seed)
    if outputs > 1:
        ds = ds.map(lambda a, b: (a, (b,) * outputs))
    if shard:
        sharding = tf.data.Options()
        sharding.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(sharding)
    return ds.prefetch(tf.data.AUTOTUNE)


def regularized(ds, cfg, training, shape, seed):
    """The batches with the recipe's regularizers applied (training) and labels one-hot when mixing."""
    if training and cfg.get("crop_padding"):
        crop = regularize.crop_layer(cfg["crop_padding"], shape, seed + 101)
        ds = ds.map(lambda a, b: (crop(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    if training and cfg.get("erasing"):
        ds = ds.map(lambda a, b: (regularize.erase(a, cfg["erasing"]), b), num_parallel_calls=tf.data.AUTOTUNE)
    if is_mixing(cfg):
        classes = cfg["classes"]
        ds = ds.map(lambda a, b: (a, tf.one_hot(tf.cast(tf.reshape(b, [-1]), tf.int32), classes)))
        if training:
            kind, alpha = ("mixup", cfg["mixup"]) if cfg.get("mixup") else ("cutmix", cfg["cutmix"])
            ds = ds.map(lambda a, b: regularize.mix(a, b, kind, alpha), num_parallel_calls=tf.data.AUTOTUNE)
    return ds
