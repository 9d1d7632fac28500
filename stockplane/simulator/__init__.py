"""A seeded simulation of a retail estate's integration traffic, with faults and ground truth.

``traffic`` runs it, ``workflows`` says what each kind of transaction sends, ``faults``
what goes wrong and how often, ``truth`` and ``score`` what the correlator should have
concluded and how close it came.
"""
