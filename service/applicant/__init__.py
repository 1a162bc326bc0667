"""The applicant contract: what a caller sends about an applicant, and how the features follow from it.

Training and serving both import this package (the service never imports ``training/``), so the Bento
carries it:

* :mod:`service.applicant.schema`: the Kaggle tables and their columns (the raw, business-side contract);
* :mod:`service.applicant.domains`: the values each raw column and each statistic can take in reality;
* :mod:`service.applicant.expressions`: the vocabulary of feature definitions (row values, conditions,
  per-applicant aggregates), declarative so that more than one evaluator can read them;
* :mod:`service.applicant.definitions`: every feature, table by table, and the ordered catalogue;
* :mod:`service.applicant.evaluate`: the one-applicant evaluator used by the service (training's batch
  evaluator over whole tables lives in :mod:`training.features`; a parity test holds the two together);
* :mod:`service.applicant.document`: the request document (msgspec types generated from the schema).
"""
