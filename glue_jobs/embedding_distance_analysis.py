"""Glue 5.0 job: distance of every archived prompt to the nearest centroid of the stored baseline.

Thin: Spark reads the prompt archive and computes per-prompt distances on the workers with
`ragline.drift` (the stored baseline is broadcast; nothing is re-fitted); the summary uses the
same code as the local `ragline drift distance`.

On Glue: pass the ragline package as `--extra-py-files s3://.../ragline.zip` and
    --job_type DISTANCE --prompt_path s3://BUCKET/promptarchive/
    --distance_path s3://BUCKET/promptdistance/ --out_table RUNS_TABLE --centroid_table CENTROIDS_TABLE
    [--baseline_path s3://BUCKET/driftbaseline] [--outlier_z 3.5]
Outputs: per-prompt rows (gzip JSON Lines) under --distance_path/run_id=<run>/, a summary row in
--out_table, and metrics in CloudWatch namespace `rag` (prompt_distance_mean,
prompt_distance_median, prompt_distance_p95, prompt_outlier_rate, prompt_count).

Locally: `--local_output` names a folder for the summary and metrics (and, without
--distance_path, the per-prompt rows under <folder>/distances/):
    SPARK_LOCAL_IP=127.0.0.1 spark-submit glue_jobs/embedding_distance_analysis.py \
        --job_type DISTANCE --prompt_path file://$PWD/.ragline/archive/promptarchive \
        --local_output file://$PWD/.ragline/drift
"""

import sys

from ragline.drift.jobs import main as run_drift_job

JOB_TYPES = ("DISTANCE",)


def main(argv=None, spark=None, store=None):
    return run_drift_job(
        argv or sys.argv, allowed=JOB_TYPES, app_name="embedding-distance-analysis", spark=spark, store=store
    )


if __name__ == "__main__":
    main()
