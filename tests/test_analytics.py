"""Analytics readers: pyarrow's own S3 filesystem (AWS C++ SDK) writing and reading Parquet through Strata."""
import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def arrow_fs(server, s3):
    s3.create_bucket(Bucket="lake")
    return pafs.S3FileSystem(access_key="alice", secret_key="unused", endpoint_override=f"127.0.0.1:{server.port}",
                             scheme="http", region="us-east-1", allow_bucket_creation=False)


def test_partitioned_parquet_round_trip(arrow_fs, server):
    n = 200_000
    table = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "country": pa.array([["de", "fr", "us", "jp"][i % 4] for i in range(n)]),
        "value": pa.array([i * 0.5 for i in range(n)]),
    })
    ds.write_dataset(table, "lake/events", format="parquet", filesystem=arrow_fs,
                     partitioning=ds.partitioning(pa.schema([("country", pa.string())]), flavor="hive"),
                     max_rows_per_file=30_000, max_rows_per_group=10_000, existing_data_behavior="overwrite_or_ignore")
    # The dataset is plain files other programs can read.
    assert os.path.isdir(os.path.join(server.root, "lake", "events", "country=de"))
    dataset = ds.dataset("lake/events", format="parquet", filesystem=arrow_fs, partitioning="hive")
    assert dataset.count_rows() == n
    german = dataset.to_table(filter=pc.field("country") == "de", columns=["id", "value"])
    assert german.num_rows == n // 4
    assert pc.sum(german["value"]).as_py() == sum(i * 0.5 for i in range(0, n, 4))


def test_single_file_column_projection_uses_ranged_reads(arrow_fs):
    table = pa.table({f"c{i}": pa.array(range(100_000), pa.int32()) for i in range(20)})
    pq.write_table(table, "lake/wide.parquet", filesystem=arrow_fs, row_group_size=25_000)
    info = arrow_fs.get_file_info("lake/wide.parquet")
    assert info.size > 0
    subset = pq.read_table("lake/wide.parquet", filesystem=arrow_fs, columns=["c3", "c17"])
    assert subset.column_names == ["c3", "c17"] and subset.num_rows == 100_000
    assert pc.sum(subset["c17"]).as_py() == sum(range(100_000))
    listed = [f.path for f in arrow_fs.get_file_info(pafs.FileSelector("lake", recursive=False))]
    assert "lake/wide.parquet" in listed
    arrow_fs.delete_file("lake/wide.parquet")
    assert arrow_fs.get_file_info("lake/wide.parquet").type == pafs.FileType.NotFound
