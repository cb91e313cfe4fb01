"""Glue 5.0 job: fit the drift baseline (BASELINE) or compare the chunk archive with it (SNAPSHOT).

Thin: Spark reads the JSON Lines archive and collects the (sampled) vectors; the statistics are
`ragline.drift`, the same code the local `ragline drift` commands run.

On Glue: pass the ragline package as `--extra-py-files s3://.../ragline.zip` and
    --job_type BASELINE|SNAPSHOT --data_path s3://BUCKET/embeddingarchive/
    --out_table RUNS_TABLE --centroid_table CENTROIDS_TABLE [--baseline_path s3://BUCKET/driftbaseline]
Outputs: a row per run in --out_table, a row per centroid in --centroid_table (BASELINE), the
baseline JSON under --baseline_path, and metrics in CloudWatch namespace `rag`
(drift_psi, drift_js_distance, centroid_shift, mean_distance_change, drift_outlier_rate,
new_topic_clusters, drift_detected; baseline_silhouette, baseline_k).

Locally (no AWS account): `--local_output` names a folder that receives everything instead:
    SPARK_LOCAL_IP=127.0.0.1 spark-submit glue_jobs/embedding_drift_analysis.py \
        --job_type BASELINE --data_path file://$PWD/.ragline/archive/embeddingarchive \
        --local_output file://$PWD/.ragline/drift
Every option is listed in `ragline/drift/jobs.py`.
"""

import sys

from ragline.drift.jobs import main as run_drift_job

JOB_TYPES = ("BASELINE", "SNAPSHOT")


def main(argv=None, spark=None, store=None):
    return run_drift_job(
        argv or sys.argv, allowed=JOB_TYPES, app_name="embedding-drift-analysis", spark=spark, store=store
    )


if __name__ == "__main__":
    main()
