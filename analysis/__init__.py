"""County evaluation suite: income growth, employment and training impacts, monitoring and post-assessment
for the 2021-2025 consolidation of poverty-alleviation gains (巩固拓展脱贫攻坚成果).

The flow: ``analysis.io.ingest`` (raw exports -> canonical Parquet) -> ``analysis.build`` (indicator tables
for all regions) -> notebooks run by ``analysis.publish.pipeline`` -> ``reports/``.
"""
