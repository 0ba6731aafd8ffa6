"""Trains a tiny scikit-learn classifier (iris, bundled with scikit-learn: no download) and saves it with
joblib, as MLServer's scikit-learn runtime loads it. Prints, as JSON, the inputs it was checked on and the
predictions the saved model gives for them, so a test can compare what the served model answers.

Usage: train_sklearn_model.py <output.joblib> [--rotate-labels]

--rotate-labels trains on every label moved one class on (setosa -> versicolor -> virginica -> setosa), so a
second version of the model answers differently for the same inputs: a test sees which version served it.
"""
import json
import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main() -> None:
    output = sys.argv[1]
    features, labels = load_iris(return_X_y=True)
    if "--rotate-labels" in sys.argv[2:]:
        labels = (labels + 1) % 3
    model = LogisticRegression(max_iter=500, random_state=0).fit(features, labels)
    joblib.dump(model, output)
    reloaded = joblib.load(output)
    probes = [features[0].tolist(), features[60].tolist(), features[120].tolist()]
    json.dump(
        {"inputs": probes, "predictions": [int(p) for p in reloaded.predict(probes)]},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
