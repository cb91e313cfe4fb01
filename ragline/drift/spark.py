"""The Spark side of the drift jobs: read the archive, apply the selection rules of
`ragline.drift.archive`, collect the vectors, and measure prompts on the workers.

pyspark is imported inside the functions: this module is importable (and the rest of
`ragline.drift` usable) where Spark is not installed.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from ragline.drift.archive import Selection, VectorBatch, choose_model, sample_indices
from ragline.drift.baseline import Baseline
from ragline.drift.distance import prompt_rows
from ragline.records import EmbeddingRecord, RecordKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def archive_schema():
    from pyspark.sql import types

    return types.StructType(
        [
            types.StructField("id", types.StringType()),
            types.StructField("kind", types.StringType()),
            types.StructField("time", types.StringType()),
            types.StructField("source", types.StringType()),
            types.StructField("model", types.StringType()),
            types.StructField("vector", types.ArrayType(types.DoubleType())),
            types.StructField("document_id", types.StringType()),
            types.StructField("pages", types.ArrayType(types.LongType())),
        ]
    )


def read_archive(spark: SparkSession, path: str) -> DataFrame:
    """Every JSON Lines file under `path` (s3:// or file://, plain or .gz, any depth)."""
    # An explicit schema: inferring one would read the whole archive twice.
    return spark.read.schema(archive_schema()).option("recursiveFileLookup", "true").json(path)


def selected_frame(frame: DataFrame, selection: Selection) -> tuple[DataFrame, str, int]:
    """Kind, window, latest record per id, one model, seeded sample: the rules of `archive.select`.

    Returns the selected rows, the model and how many vectors of other models were left out.
    """
    from pyspark.sql import Window, functions

    moment = functions.col("time").cast("timestamp")
    frame = frame.where(functions.col("kind") == selection.kind.value)
    if selection.since:
        frame = frame.where(moment >= functions.lit(selection.since).cast("timestamp"))
    if selection.until:
        frame = frame.where(moment < functions.lit(selection.until).cast("timestamp"))
    newest_first = Window.partitionBy("id").orderBy(moment.desc())
    latest = (
        frame.withColumn("_rank", functions.row_number().over(newest_first))
        .where(functions.col("_rank") == 1)
        .drop("_rank")
    )
    models = Counter({row["model"]: row["count"] for row in latest.groupBy("model").count().collect()})
    model = choose_model(models, selection.model)
    chosen = latest.where(functions.col("model") == model)
    # Sampling by position in the id-sorted list, with the same function as the local reader,
    # picks exactly the same records; only the ids travel to the driver for it.
    ids = sorted(row["id"] for row in chosen.select("id").collect())
    keep = sample_indices(len(ids), selection.max_vectors, selection.seed)
    if len(keep) < len(ids):
        spark = chosen.sparkSession
        kept_ids = spark.createDataFrame([(ids[i],) for i in keep], ["id"])
        chosen = chosen.join(functions.broadcast(kept_ids), "id")
    return chosen, model, sum(models.values()) - models[model]


def collect_batch(frame: DataFrame, model: str, skipped: int = 0) -> VectorBatch:
    rows = frame.select("id", "time", "source", "document_id", "vector").collect()
    records = [
        EmbeddingRecord(
            id=row["id"],
            kind=RecordKind.CHUNK,  # not used past this point
            time=row["time"],
            source=row["source"],
            model=model,
            vector=row["vector"],
            document_id=row["document_id"],
        )
        for row in rows
    ]
    return VectorBatch.from_records(records, model, skipped)


def read_batch(spark: SparkSession, path: str, selection: Selection) -> VectorBatch:
    frame, model, skipped = selected_frame(read_archive(spark, path), selection)
    return collect_batch(frame, model, skipped)


def distance_schema():
    from pyspark.sql import types

    return types.StructType(
        [
            types.StructField("run_id", types.StringType()),
            types.StructField("id", types.StringType()),
            types.StructField("time", types.StringType()),
            types.StructField("source", types.StringType()),
            types.StructField("cluster", types.LongType()),
            types.StructField("distance", types.DoubleType()),
            types.StructField("residual", types.DoubleType()),
            types.StructField("distance_z", types.DoubleType()),
            types.StructField("residual_z", types.DoubleType()),
            types.StructField("z_score", types.DoubleType()),
            types.StructField("outlier", types.BooleanType()),
        ]
    )


def prompt_distance_frame(frame: DataFrame, baseline: Baseline, *, outlier_z: float, run_id: str) -> DataFrame:
    """Per-prompt distances computed on the workers, with the same function as the local run."""
    spark = frame.sparkSession
    shared = spark.sparkContext.broadcast(baseline.to_dict())

    def measure(rows):
        rows = list(rows)
        if not rows:
            return
        stored = Baseline.from_dict(shared.value)
        vectors = np.asarray([row["vector"] for row in rows], dtype=np.float64)
        yield from prompt_rows(
            stored,
            vectors,
            ids=[row["id"] for row in rows],
            times=[row["time"] for row in rows],
            sources=[row["source"] for row in rows],
            outlier_z=outlier_z,
            run_id=run_id,
        )

    measured = frame.select("id", "time", "source", "vector").rdd.mapPartitions(measure)
    columns = [field.name for field in distance_schema().fields]
    return spark.createDataFrame(measured.map(lambda row: tuple(row[c] for c in columns)), distance_schema())
