"""An existing Alluxio deployment's alluxio-site.properties, given with --properties, starts Strata unchanged."""
import os
import subprocess

from conftest import STRATA_BIN, free_port

IGNORED = [  # in file order
    "alluxio.home",
    "alluxio.work.dir",
    "alluxio.master.hostname",
    "alluxio.master.mount.table.root.ufs",
    "alluxio.master.mount.table.root.option.s3a.secretKey",
    "alluxio.zookeeper.enabled",
    "alluxio.master.journal.type",
    "alluxio.master.journal.folder",
    "alluxio.worker.tieredstore.levels",
    "alluxio.worker.tieredstore.level0.alias",
    "alluxio.worker.ramdisk.size",
    "alluxio.user.file.writetype.default",
    "alluxio.user.block.size.bytes.default",
]


def site_properties(tmp_path, port, extra=""):
    """A single-node deployment's site file, as Alluxio's templates lay it out, with the proxy's S3 keys."""
    ufs = tmp_path / "underFSStorage"
    ufs.mkdir(exist_ok=True)
    path = tmp_path / "alluxio-site.properties"
    path.write_text(f"""\
# Common properties
alluxio.home=/opt/alluxio
alluxio.work.dir=${{alluxio.home}}/work
alluxio.master.hostname=localhost
alluxio.master.mount.table.root.ufs={ufs}
alluxio.master.mount.table.root.option.s3a.secretKey=do-not-print-me
alluxio.zookeeper.enabled=false

# Master properties
alluxio.master.journal.type=UFS
alluxio.master.journal.folder=${{alluxio.work.dir}}/journal

# Worker properties
alluxio.worker.tieredstore.levels=1
alluxio.worker.tieredstore.level0.alias=MEM
alluxio.worker.ramdisk.size=1GB

# User properties
alluxio.user.file.writetype.default=CACHE_THROUGH
alluxio.user.block.size.bytes.default=64MB

# Security properties
alluxio.security.authentication.type=SIMPLE
alluxio.security.authorization.permission.enabled=true
alluxio.security.authorization.permission.umask=022

# Proxy properties
alluxio.proxy.web.hostname=localhost
alluxio.proxy.web.port={port}
alluxio.proxy.s3.writetype=MUST_CACHE
alluxio.proxy.s3.deletetype=ALLUXIO_AND_UFS
alluxio.proxy.s3.multipart.upload.timeout=10min
alluxio.proxy.s3.complete.multipart.upload.pool.size=20
alluxio.proxy.s3.v2.version.enabled=true
alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number=64
alluxio.proxy.s3.global.read.rate.limit.mb=0
alluxio.proxy.s3.single.connection.read.rate.limit.mb=0
alluxio.proxy.audit.logging.enabled=true

# Strata's own keys may live in the same file and refer to Alluxio's
strata.root.dir=${{alluxio.master.mount.table.root.ufs}}/strata-root
strata.security.group.mapping.file=${{alluxio.master.mount.table.root.ufs}}/groups
{extra}""")
    (ufs / "groups").write_text("alice: analysts\n")
    return path, ufs / "strata-root"


def run_cli(*args, cwd):
    return subprocess.run([STRATA_BIN, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_conf_shows_alluxio_spellings_references_and_ignored_keys(tmp_path):
    props, root = site_properties(tmp_path, 40123)
    result = run_cli("conf", "--properties", str(props), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "strata.proxy.s3.multipart.upload.cleaner.timeout=10min  # file (alluxio.proxy.s3.multipart.upload.timeout)" in lines
    assert "strata.proxy.web.port=40123  # file (alluxio.proxy.web.port)" in lines
    assert "strata.proxy.web.hostname=localhost  # file (alluxio.proxy.web.hostname)" in lines
    assert "strata.proxy.s3.complete.multipart.upload.pool.size=20  # file (alluxio.proxy.s3.complete.multipart.upload.pool.size)" in lines
    assert "strata.security.authorization.permission.umask=022  # file (alluxio.security.authorization.permission.umask)" in lines
    assert "strata.proxy.s3.global.read.rate.limit.mb=0  # file (alluxio.proxy.s3.global.read.rate.limit.mb)" in lines
    # Alluxio's v2 heavy pool sizes the pool for blocking work.
    assert "strata.fs.io.threads=64  # file (alluxio.proxy.s3.v2.async.heavy.pool.maximum.thread.number)" in lines
    # ${} references: one level, and two levels through ignored keys.
    assert f"strata.root.dir={root}  # file" in lines
    assert f"strata.security.group.mapping.file={root.parent}/groups  # file" in lines
    # Keys of Strata's own spelling and defaults keep the old format.
    assert "strata.fs.sync.policy=FILE_AND_DIRECTORY  # default" in lines
    # Every other Alluxio key is listed at the end as ignored, without its value.
    tail = lines[-len(IGNORED):]
    assert tail == [f"{name}  # file, ignored: not a Strata key" for name in IGNORED]
    assert "do-not-print-me" not in result.stdout
    # Every line still splits into `name=value` and a source.
    assert all(len(line.split("  # ")) == 2 for line in lines)


def test_alluxio_site_properties_start_strata(start_server, tmp_path):
    port = free_port()
    props, root = site_properties(tmp_path, port)
    server = start_server(root=root, properties=props, port=port, flags=False)
    s3 = server.client()
    s3.create_bucket(Bucket="from-alluxio")
    s3.put_object(Bucket="from-alluxio", Key="dir/hello.txt", Body=b"hello from an Alluxio config")
    assert s3.get_object(Bucket="from-alluxio", Key="dir/hello.txt")["Body"].read() == b"hello from an Alluxio config"
    # The root came from the ${} reference, the port from alluxio.proxy.web.port.
    assert (root / "from-alluxio" / "dir" / "hello.txt").read_bytes() == b"hello from an Alluxio config"

    log = server.read_log()
    notices = [line for line in log.splitlines() if "ignoring Alluxio keys other components use:" in line]
    assert len(notices) == 1, log
    listed = notices[0].split("ignoring Alluxio keys other components use: ", 1)[1].split(", ")
    assert [name.strip() for name in listed] == IGNORED
    assert "do-not-print-me" not in log


def test_unknown_strata_key_in_alluxio_file_still_stops_startup(tmp_path):
    props, _ = site_properties(tmp_path, free_port(), extra="strata.nope=1\n")
    result = run_cli("serve", "--properties", str(props), cwd=tmp_path)
    assert result.returncode != 0
    assert "unknown property key 'strata.nope' (from file)" in result.stderr
    assert "ignoring Alluxio keys" not in result.stderr


def test_undefined_reference_stops_startup_naming_the_key(tmp_path):
    props, _ = site_properties(tmp_path, free_port(), extra="strata.s3.superuser=${alluxio.proxy.user}\n")
    result = run_cli("serve", "--properties", str(props), cwd=tmp_path)
    assert result.returncode != 0
    assert "strata.s3.superuser" in result.stderr and "${alluxio.proxy.user}" in result.stderr
    assert not os.path.exists(tmp_path / "underFSStorage" / "strata-root")
