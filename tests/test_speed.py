"""make peer and make int8-speed: the models they take, and the one sentence for the others (their
measurements are in docs/speed.md; a run takes minutes at 224x224x3)."""


def test_the_peer_benchmark_names_the_models_keras_has(capsys):
    from edgecnn.study import peer

    assert peer.main(["squeezenet1_1", "mobilenet_v2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no application for squeezenet1_1" in err[0] and "mobilenet_v3_small" in err[0]


def test_the_int8_speed_table_takes_edge_models_only(capsys):
    from edgecnn.study import int8_speed

    assert int8_speed.main(["vgg16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vgg16 is not an edge model" in err[0] and "mobilenet_v3_small" in err[0]
