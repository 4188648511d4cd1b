"""A reference model of Strata's authorization rules, for tests/test_authorization_model.py.

Written from docs/authorization.md, README.md ("Identity and authentication", "STS", "Permissions", "Versions",
"Website endpoint", tiering) and AWS's documented S3 behaviour, never from the server's sources: the test compares
the server with this model, so the two must stay independent.

The model holds what the server should hold (buckets, directories, object versions with their own owner, group, mode
and public flag, multipart uploads) and has one method per S3 action. Each method decides the answer the server must
give (`Expect`: status, error code, what the answer must show) and, when the action succeeds, how the state changes
(`Expect.commit`, called with the server's answer, which supplies version and upload ids).

Where the documents leave a detail open, the choice is AWS's and is marked `# Reading:` with the reason.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

NONE, READ, WRITE, OWNER = 0, 1, 2, 3
GRANT_NAMES = {"read": READ, "write": WRITE, "owner": OWNER}

FULL, GRANTED, CHECKED = "full", "granted", "checked"

# An id no server made (16 + 8 hex digits, as Strata's version ids): a version that does not exist.
MISSING_VERSION = "0000000000000001deadbeef"
MISSING_UPLOAD = "no-such-upload-0123456789"

DENIED = (403, "AccessDenied")


@dataclass
class Entry:
    """Owner, group, mode and public flag of a bucket, directory or object version. An owner starting with `~` is
    one the documents do not name (the admin credential, an STS session, an anonymous writer): it is distinct from
    every named user, and the test does not compare it."""
    owner: str
    group: Optional[str]
    mode: int
    public: bool = False


@dataclass
class Version:
    vid: str
    entry: Optional[Entry]
    body: bytes = b""
    marker: bool = False
    tags: dict = field(default_factory=dict)
    origin: object = None  # the step that made it (the test's shrinker names versions by it)


@dataclass
class Bucket:
    name: str
    entry: Entry
    versioning: str = ""  # "", "Enabled", "Suspended"
    website: bool = False
    dirs: dict = field(default_factory=dict)  # "dir", "dir/sub" -> Entry
    permanent_dirs: set = field(default_factory=set)  # made outside S3: never removed by the model
    keys: dict = field(default_factory=dict)  # key -> [Version], oldest first; the last one is current


@dataclass(eq=False)
class Upload:
    uid: str
    bucket: str
    key: str
    initiator: str
    parts: set = field(default_factory=set)
    origin: object = None  # the step that made it


@dataclass(frozen=True)
class Identity:
    """Who sends a request. kind: simple (SIMPLE user), simple-anon, admin (SIGV4 admin credential), unscoped,
    scoped, sts, anon (SIGV4 unsigned)."""
    name: str
    kind: str
    user: str
    grants: tuple = ()  # ((bucket name or prefix*, "read"|"write"|"owner"), ...) for scoped and sts


@dataclass(frozen=True)
class Caller:
    user: str
    groups: tuple
    anon: bool = False


@dataclass
class Standing:
    kind: str  # FULL, GRANTED, CHECKED
    user: str  # who new entries belong to
    caller: Optional[Caller] = None  # for CHECKED
    why: str = ""


@dataclass
class Expect:
    status: int
    code: Optional[str] = None
    observe: object = None  # what the answer must show (None: nothing compared beyond status and code)
    alternatives: tuple = ()  # other acceptable (status, code): AWS variants of details that are not authorization
    why: str = ""
    commit: Optional[Callable] = None

    def describe(self):
        out = f"{self.status} {self.code or ''}".strip()
        if self.alternatives:
            out += " (or " + ", ".join(f"{s} {c or ''}".strip() for s, c in self.alternatives) + ")"
        if self.observe is not None:
            out += f" showing {self.observe!r}"
        return out + (f"  [{self.why}]" if self.why else "")


def ok(status=200, observe=None, why="", commit=None, alternatives=()):
    return Expect(status, None, observe, alternatives, why, commit)


def refuse(why, status=403, code="AccessDenied", alternatives=()):
    return Expect(status, code, None, alternatives, why)


class Outcome:
    """The result of a permission check: allowed, or the answer that ends the request."""

    def __init__(self, allowed, expect=None, value=None):
        self.allowed, self.expect, self.value = allowed, expect, value


def allow(value=None):
    return Outcome(True, value=value)


def stop(expect):
    return Outcome(False, expect)


def parent_dirs(key):
    """The directories a key lives in, outermost first: 'dir/sub/b' -> ['dir', 'dir/sub']."""
    parts = key.split("/")[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


def mode_for(acl, directory, umask):
    """Canned ACLs are mode bits (README, Permissions): private 600/700, public-read 644/755, public-read-write
    666/777; no ACL: the umask's mode."""
    if acl is None:
        return (0o777 if directory else 0o666) & ~umask, False
    table = {"private": (0o600, 0o700, False), "public-read": (0o644, 0o755, True),
             "public-read-write": (0o666, 0o777, True)}
    file_mode, dir_mode, public = table[acl]
    return (dir_mode if directory else file_mode), public


class Model:
    def __init__(self, sigv4, groups, umask=0o022, superuser="admin", supergroup="supergroup",
                 anonymous_user="anonymous"):
        self.sigv4 = sigv4
        self.groups = groups  # user -> [groups], primary first
        self.umask = umask
        self.superuser, self.supergroup, self.anonymous_user = superuser, supergroup, anonymous_user
        self.buckets = {}
        self.uploads = []  # in creation order
        self.origin = None  # the step being run: recorded on the versions and uploads it makes

    # ---- identities and standing (docs/authorization.md: Identities, The grant layer, Standing) ----

    def caller(self, user):
        return Caller(user, tuple(self.groups.get(user, ())))

    def primary_group(self, user):
        groups = self.groups.get(user)
        return groups[0] if groups else None

    def never_checked(self, user):
        return user == self.superuser or self.supergroup in self.groups.get(user, ())

    def grant(self, ident, bucket):
        if ident.kind == "admin":
            return OWNER
        if ident.kind == "unscoped":
            b = self.buckets.get(bucket)
            return OWNER if b is not None and b.entry.owner == ident.user else NONE
        if ident.kind in ("scoped", "sts"):
            for pattern, level in ident.grants:
                if pattern == bucket or (pattern.endswith("*") and bucket.startswith(pattern[:-1])):
                    return GRANT_NAMES[level]
            return NONE
        return NONE

    def standing(self, ident, bucket, need, public_access):
        """The caller's standing on a bucket for an action needing grant `need`; None: AccessDenied."""
        if ident.kind == "simple":
            if self.never_checked(ident.user):
                return Standing(FULL, ident.user, why=f"{ident.user} is never checked")
            return Standing(CHECKED, ident.user, self.caller(ident.user))
        if ident.kind == "simple-anon":
            return Standing(CHECKED, self.anonymous_user, self.caller(self.anonymous_user))
        if ident.kind == "admin":
            return Standing(FULL, ident.user, why="admin credential")
        have = NONE if ident.kind == "anon" else self.grant(ident, bucket)
        if have >= need and ident.kind != "anon":
            if ident.kind in ("scoped", "sts") and have == OWNER:
                return Standing(FULL, ident.user, why=f"{ident.name} has the owner grant on {bucket}")
            if ident.kind == "sts":
                return Standing(GRANTED, ident.user, why=f"{ident.name}'s grant on {bucket} decides")
            if self.never_checked(ident.user):
                return Standing(FULL, ident.user, why=f"{ident.user} is never checked")
            return Standing(CHECKED, ident.user, self.caller(ident.user))
        if public_access:
            # Checked as anonymous: what public canned ACLs opened to everyone. Reading: what a signed caller writes
            # this way is still its user's, as on AWS, where the signed uploader owns the object.
            user = "~anonymous" if ident.kind == "anon" else ident.user
            return Standing(CHECKED, user, Caller(user, (), anon=True), why="checked as anonymous")
        return None

    def gate(self, ident, bucket, need, public_access):
        """Bucket existence, then the grant layer: (Bucket, Standing) or the answer that ends the request."""
        b = self.buckets.get(bucket)
        if b is None:
            return stop(refuse("no such bucket", 404, "NoSuchBucket"))
        st = self.standing(ident, bucket, need, public_access)
        if st is None:
            return stop(refuse(f"{ident.name}'s grant on {bucket} is too low and the action has no public access"))
        return allow((b, st))

    def writable(self, ident, bucket, key):
        """The gate of a write (grant `write`, public-read-write buckets open) and the write check of its key:
        (Bucket, Standing), or the answer that ends the request."""
        g = self.gate(ident, bucket, WRITE, True)
        if not g.allowed:
            return g
        b, st = g.value
        why = self.write_object(st, b, key)
        return stop(refuse(why)) if why else allow((b, st))

    # ---- the permission model's checks ----

    def bits(self, entry, caller):
        if caller.anon:
            return entry.mode & 7
        if entry.owner == caller.user:
            return (entry.mode >> 6) & 7
        if entry.group is not None and entry.group in caller.groups:
            return (entry.mode >> 3) & 7
        return entry.mode & 7

    def chain(self, b, dirpath):
        """(name, Entry) from the bucket down to directory `dirpath` ('' = the bucket), stopping at the first
        directory that does not exist (nothing below it exists either)."""
        out = [(b.name, b.entry)]
        for d in (parent_dirs(dirpath + "/") if dirpath else []):
            if d not in b.dirs:
                break
            out.append((f"{b.name}/{d}", b.dirs[d]))
        return out

    def enter_all(self, caller, b, dirpath):
        """x on every existing directory from the bucket down to `dirpath`."""
        for name, entry in self.chain(b, dirpath):
            if not self.bits(entry, caller) & 1:
                return f"no x on {name} ({entry.owner}:{entry.group} {entry.mode:o})"
        return None

    def list_bucket(self, st, b):
        if st.kind != CHECKED:
            return None
        c = st.caller
        if self.bits(b.entry, c) & 5 != 5:
            return f"no r and x on {b.name} ({b.entry.owner}:{b.entry.group} {b.entry.mode:o})"
        if c.anon and not b.entry.public:
            return f"anonymous, and {b.name} is not public"
        return None

    def read_object(self, st, b, key, vid=None):
        """readObject of the version read: Outcome with the Version, or the answer (403, 404, 405)."""
        version = self.version(b, key, vid)
        if st.kind == CHECKED:
            why = self.enter_all(st.caller, b, "/".join(key.split("/")[:-1]))
            if why:
                return stop(refuse(why))
        missing = None
        if version is None:
            missing = (refuse("no such version", 404, "NoSuchVersion") if vid
                       else refuse("no such key", 404, "NoSuchKey"))
        elif version.marker:
            missing = (refuse("the version is a delete marker", 405, "MethodNotAllowed") if vid
                       else refuse("the current version is a delete marker", 404, "NoSuchKey"))
        if missing is not None:
            # Reading: as AWS, an anonymous caller learns that a key or version is missing only where it may list.
            if st.kind == CHECKED and st.caller.anon and self.list_bucket(st, b):
                return stop(refuse("anonymous, a missing key outside a public bucket"))
            return stop(missing)
        if st.kind == CHECKED:
            e = version.entry
            if not self.bits(e, st.caller) & 4:
                return stop(refuse(f"no r on {b.name}/{key}@{version.vid} ({e.owner}:{e.group} {e.mode:o})"))
            if st.caller.anon and not e.public:
                return stop(refuse(f"anonymous, and {b.name}/{key}@{version.vid} is not public"))
        return allow(version)

    def write_object(self, st, b, key):
        """writeObject: x on every existing directory above the deepest existing one on the key's path, w and x
        on that one (it holds the key, or the directories made for it); anonymous: only in a public-read-write
        bucket. Returns the reason for a refusal, or None."""
        if st.kind != CHECKED:
            return None
        c = st.caller
        if c.anon and not (b.entry.public and b.entry.mode & 0o002):
            return f"anonymous, and {b.name} is not public-read-write"
        links = self.chain(b, "/".join(key.split("/")[:-1]))
        for name, entry in links[:-1]:
            if not self.bits(entry, c) & 1:
                return f"no x on {name} ({entry.owner}:{entry.group} {entry.mode:o})"
        name, entry = links[-1]
        if self.bits(entry, c) & 3 != 3:
            return f"no w and x on {name} ({entry.owner}:{entry.group} {entry.mode:o})"
        return None

    def own_object(self, st, version):
        if st.kind == FULL:
            return None
        if st.kind == CHECKED and st.caller.anon:
            return "anonymous never owns"
        if version.entry.owner != st.user:
            return f"{st.user} does not own it ({version.entry.owner})"
        return None

    def own_bucket(self, st, b):
        if st.kind == FULL:
            return None
        if st.kind == GRANTED or st.caller.anon:
            return "not the bucket's owner"
        return None if b.entry.owner == st.user else f"{st.user} does not own {b.name} ({b.entry.owner})"

    # ---- state ----

    def version(self, b, key, vid=None):
        versions = b.keys.get(key, [])
        if vid is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.vid == vid), None)

    def current(self, b, key):
        v = self.version(b, key)
        return None if v is None or v.marker else v

    def versions_of(self, bucket, key):
        b = self.buckets.get(bucket)
        return list(b.keys.get(key, [])) if b else []

    def new_entry(self, st, acl, directory=False):
        mode, public = mode_for(acl, directory, self.umask)
        return Entry(st.user, self.primary_group(st.user) if not st.user.startswith("~") else None, mode, public)

    def make_dirs(self, b, key, st, acl):
        """Directories made for a key belong to the writer. Reading: they take the directory half of the write's
        canned ACL ("private (600/700), public-read (644/755), public-read-write (666/777) on PutObject, ..."), the
        umask's without one, so that a public-read object is readable by everyone, as on AWS."""
        for d in parent_dirs(key):
            if d not in b.dirs:
                entry = self.new_entry(st, acl, directory=True)
                entry.public = False
                b.dirs[d] = entry

    def prune_dirs(self, b):
        """Directories are removed when a delete leaves them empty (README, Keys and the filesystem)."""
        live = {d for k, vs in b.keys.items() if vs and not vs[-1].marker for d in parent_dirs(k)}
        for d in list(b.dirs):
            if d not in live and d not in b.permanent_dirs and not any(p.startswith(d + "/") for p in b.permanent_dirs):
                del b.dirs[d]

    def put_version(self, b, key, entry, body, tags, vid, st, acl):
        self.make_dirs(b, key, st, acl)
        versions = b.keys.setdefault(key, [])
        if b.versioning == "":
            versions.clear()
            vid = "null"
        elif b.versioning == "Suspended":
            versions[:] = [v for v in versions if v.vid != "null"]
            vid = "null"
        versions.append(Version(vid or "null", entry, body, False, dict(tags), self.origin))

    def delete_version(self, b, key, vid, marker_vid):
        """DeleteObject's effect: with vid, that version goes; without, a delete marker or the object."""
        versions = b.keys.get(key, [])
        if vid is not None:
            versions[:] = [v for v in versions if v.vid != vid]
        elif b.versioning == "":
            versions.clear()
        else:
            if b.versioning == "Suspended":
                versions[:] = [v for v in versions if v.vid != "null"]
                marker_vid = "null"
            versions.append(Version(marker_vid or "null", None, marker=True, origin=self.origin))
            b.keys[key] = versions
        if not versions:
            b.keys.pop(key, None)
        elif not versions[-1].marker:
            self.restore_dirs(b, key)
        self.prune_dirs(b)

    def restore_dirs(self, b, key):
        """A delete that makes an earlier version current again moves it back to the key's path (README, Versions),
        so the directories a delete marker had emptied and removed exist again, made as the returning version's
        write made them (docs/authorization.md, Versions): its owner and group, its mode in directory form (x wherever
        r is granted)."""
        version = self.current(b, key)
        entry = version.entry
        mode = entry.mode & 0o666
        for shift in (0, 3, 6):
            if mode & (4 << shift):
                mode |= 1 << shift
        for d in parent_dirs(key):
            if d not in b.dirs:
                b.dirs[d] = Entry(entry.owner, entry.group, mode, False)

    # ---- setup helpers (what other programs made) ----

    def outside_dir(self, bucket, path, owner, group, mode):
        b = self.buckets[bucket]
        b.dirs[path] = Entry(owner, group, mode)
        b.permanent_dirs.add(path)

    def outside_file(self, bucket, key, owner, group, mode, body):
        self.buckets[bucket].keys[key] = [Version("null", Entry(owner, group, mode), body)]

    # ---- actions: buckets ----

    def create_bucket(self, ident, bucket, acl):
        if ident.kind == "anon":
            return refuse("anonymous never creates buckets")
        if ident.kind in ("scoped", "sts") and self.grant(ident, bucket) < OWNER:
            return refuse(f"{ident.name} has no owner grant on {bucket}")
        b = self.buckets.get(bucket)
        st = self.standing(ident, bucket, NONE, False)
        if b is not None:
            # The same identity is its own owner, named or not (an STS session's user is its role and session name).
            mine = b.entry.owner == st.user and st.user != "~anonymous"
            # Reading: AWS answers 409 BucketAlreadyOwnedByYou (us-east-1 has answered 200) for one's own bucket.
            if mine:
                return Expect(409, "BucketAlreadyOwnedByYou", alternatives=((200, None),), why="own bucket exists")
            return refuse("the bucket exists", 409, "BucketAlreadyExists",
                          alternatives=((409, "BucketAlreadyOwnedByYou"),) if st.user.startswith("~") else ())

        def commit(answer):
            self.buckets[bucket] = Bucket(bucket, self.new_entry(st, acl, directory=True))
        return ok(commit=commit, why="the root is 1777: anyone may create a bucket")

    def put_bucket_acl(self, ident, bucket, acl):
        return self.own_bucket_action(ident, bucket, lambda b: self.set_bucket_acl(b, acl))

    def set_bucket_acl(self, b, acl):
        b.entry.mode, b.entry.public = mode_for(acl, True, self.umask)

    def put_bucket_versioning(self, ident, bucket, status):
        def change(b):
            b.versioning = status
        return self.own_bucket_action(ident, bucket, change)

    def put_bucket_website(self, ident, bucket):
        def change(b):
            b.website = True
        return self.own_bucket_action(ident, bucket, change)

    def own_bucket_action(self, ident, bucket, change):
        g = self.gate(ident, bucket, OWNER, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.own_bucket(st, b)
        if why:
            return refuse(why)
        return ok(commit=lambda answer: change(b), why=st.why or "owns the bucket")

    def head_bucket(self, ident, bucket):
        g = self.gate(ident, bucket, READ, True)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        return refuse(why) if why else ok(why=st.why)

    # ---- actions: listings ----

    def visible(self, st, b, prefix, keys):
        """The listing filter: keys a filesystem walk by the caller would reach. Directories that no longer
        exist (all their current objects deleted) hide nothing. Reading: CommonPrefixes are rolled up from the keys
        the caller sees (`roll_up`), so a directory whose keys are hidden is no prefix either, as on AWS, where a
        common prefix stands for keys that the listing includes."""
        if st.kind != CHECKED:
            return sorted(k for k in keys if k.startswith(prefix))
        c = st.caller
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        links = self.chain(b, base)
        base_exists = len(links) == len(parent_dirs(base + "/")) + 1 if base else True
        # x on the directories above the prefix's own, r and x on that one (when it exists).
        for name, entry in (links[:-1] if base_exists else links):
            if not self.bits(entry, c) & 1:
                return []
        if base_exists and self.bits(links[-1][1], c) & 5 != 5:
            return []
        out = []
        for k in keys:
            if not k.startswith(prefix):
                continue
            below = [d for d in parent_dirs(k) if len(d) > len(base)]
            if all(d not in b.dirs or self.bits(b.dirs[d], c) & 5 == 5 for d in below):
                out.append(k)
        return sorted(out)

    def list_objects(self, ident, bucket, prefix, delimiter):
        g = self.gate(ident, bucket, READ, True)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        if why:
            return refuse(why)
        keys = self.visible(st, b, prefix, [k for k in b.keys if self.current(b, k)])
        return ok(observe=roll_up(keys, prefix, delimiter), why=st.why)

    def list_object_versions(self, ident, bucket, prefix, delimiter):
        g = self.gate(ident, bucket, READ, True)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        if why:
            return refuse(why)
        keys = self.visible(st, b, prefix, list(b.keys))
        shown, prefixes = roll_up(keys, prefix, delimiter)
        entries = sorted((k, v.vid, v.marker) for k in shown for v in b.keys[k])
        return ok(observe=(entries, prefixes), why=st.why)

    def list_multipart_uploads(self, ident, bucket):
        g = self.gate(ident, bucket, READ, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        if why:
            return refuse(why)
        uploads = [u for u in self.uploads if u.bucket == bucket]  # an upload makes no directory until completed
        # Reading: the initiator filter is the permission model's; a granted STS session sees what its grant
        # reaches (all), as AWS's ListBucketMultipartUploads permission does.
        if st.kind == CHECKED and b.entry.owner != st.user:
            uploads = [u for u in uploads if u.initiator == st.user]
        return ok(observe=sorted(u.uid for u in uploads), why=st.why)

    # ---- actions: object reads ----

    def get_object(self, ident, bucket, key, vid=None, head=False):
        g = self.gate(ident, bucket, READ, True)
        if not g.allowed:
            return g.expect
        b, st = g.value
        r = self.read_object(st, b, key, vid)
        if not r.allowed:
            return r.expect
        return ok(observe=None if head else r.value.body, why=st.why)

    def get_object_attributes(self, ident, bucket, key, vid=None):
        e = self.get_object(ident, bucket, key, vid)
        if e.status == 200:
            e.observe = len(e.observe)
        elif e.status == 405:
            # Reading: AWS documents 405 for GET/HEAD of a delete marker's version; for GetObjectAttributes both
            # 404 answers are seen too. Authorization is the same either way.
            e.alternatives = ((404, "NoSuchKey"), (404, "NoSuchVersion"))
        return e

    def get_object_tagging(self, ident, bucket, key):
        g = self.gate(ident, bucket, READ, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        r = self.read_object(st, b, key)
        if not r.allowed:
            return r.expect
        return ok(observe=dict(r.value.tags), why=st.why)

    def get_object_acl(self, ident, bucket, key):
        g = self.gate(ident, bucket, READ, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        r = self.read_object(st, b, key)
        if not r.allowed:
            return r.expect
        e = r.value.entry
        everyone = set()
        if e.public:
            everyone = {p for p, bit in (("READ", 4), ("WRITE", 2)) if e.mode & bit}
        owner = None if e.owner.startswith("~") else e.owner
        return ok(observe=(owner, tuple(sorted(everyone))), why=st.why)

    # ---- actions: object writes ----

    def put_object(self, ident, bucket, key, acl, body, tags=None):
        w = self.writable(ident, bucket, key)
        if not w.allowed:
            return w.expect
        b, st = w.value

        def commit(answer):
            self.put_version(b, key, self.new_entry(st, acl), body, tags or {}, answer.version_id, st, acl)
        return ok(commit=commit, why=st.why)

    def form_post(self, ident, bucket, key, acl, body, origin):
        if origin and not self.sigv4:
            # docs/authorization.md, Browsers: a SIMPLE-mode form with an Origin no CORS rule allows is refused.
            if bucket not in self.buckets:
                return refuse("no such bucket", 404, "NoSuchBucket", alternatives=(DENIED,))
            return refuse("SIMPLE-mode form POST with an Origin that no CORS rule allows")
        e = self.put_object(ident, bucket, key, acl, body)
        if e.status == 200:
            e.status = 204
        return e

    def copy_object(self, ident, bucket, key, src_bucket, src_key, src_vid, acl):
        onto_itself = (bucket, key) == (src_bucket, src_key) and src_vid is None
        source = self.copy_source(ident, bucket, key, src_bucket, src_key, src_vid)
        if not source.allowed:
            e = source.expect
            if onto_itself:
                # AWS refuses a copy onto itself that changes no metadata (400 InvalidRequest); a refusal from the
                # request alone reveals and changes nothing, so it may come before authorization.
                e.alternatives += ((400, "InvalidRequest"),)
            return e
        b, st, version = source.value
        if onto_itself:
            return refuse("a copy onto itself that changes no metadata", 400, "InvalidRequest")

        def commit(answer):
            self.put_version(b, key, self.new_entry(st, acl), version.body, version.tags, answer.version_id, st, acl)
        return ok(commit=commit, why=st.why)

    def copy_source(self, ident, bucket, key, src_bucket, src_key, src_vid):
        """CopyObject and UploadPartCopy: writeObject on the target under the caller's standing there, then
        readObject of the exact source version under its standing on the source bucket."""
        g = self.gate(ident, bucket, WRITE, True)
        if not g.allowed:
            return g
        b, st = g.value
        source = self.gate(ident, src_bucket, READ, True)
        if not source.allowed:
            return source
        why = self.write_object(st, b, key)
        if why:
            return stop(refuse(why))
        sb, sst = source.value
        r = self.read_object(sst, sb, src_key, src_vid)
        if not r.allowed:
            e = r.expect
            if e.status == 405:
                # AWS: a copy source may not name a delete marker (400 InvalidRequest).
                return stop(refuse(e.why, 400, "InvalidRequest", alternatives=((404, "NoSuchVersion"),)))
            return r
        return allow((b, st, r.value))

    def delete_object(self, ident, bucket, key, vid):
        w = self.writable(ident, bucket, key)
        if not w.allowed:
            return w.expect
        b, st = w.value
        alternatives = ()
        if vid is not None and self.version(b, key, vid) is None:
            # Reading: AWS answers 204 for a version that is not there; 404 NoSuchVersion is seen too.
            alternatives = ((404, "NoSuchVersion"),)

        def commit(answer):
            self.delete_version(b, key, vid, answer.version_id)
        return ok(204, commit=commit, why=st.why, alternatives=alternatives)

    def delete_objects(self, ident, bucket, entries):
        """entries: [(key, vid or None)]. Observe: {key: "Deleted" or the error code}."""
        g = self.gate(ident, bucket, WRITE, True)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        if why:
            return refuse(why)
        results, allowed = {}, []
        for key, vid in entries:
            refused = self.write_object(st, b, key)
            results[key] = "AccessDenied" if refused else "Deleted"
            if not refused:
                allowed.append((key, vid))

        def commit(answer):
            for key, vid in allowed:
                self.delete_version(b, key, vid, answer.marker_ids.get(key))
        return ok(observe=results, commit=commit, why=st.why)

    def put_object_tagging(self, ident, bucket, key, tags):
        g = self.gate(ident, bucket, WRITE, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.write_object(st, b, key)
        if why:
            return refuse(why)
        version = self.current(b, key)
        if version is None:
            return refuse("no such key", 404, "NoSuchKey", alternatives=((405, "MethodNotAllowed"),))

        def commit(answer):
            version.tags = dict(tags)
        return ok(commit=commit, why=st.why)

    def put_object_acl(self, ident, bucket, key, acl):
        g = self.gate(ident, bucket, WRITE, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        version = self.current(b, key)
        if version is None:
            # Reading: ownObject names no answer for a missing key; as readObject's missing keys (and AWS, which
            # answers 403 to a caller without the permission), 404 only to a caller the directories let through.
            if st.kind == CHECKED and self.enter_all(st.caller, b, "/".join(key.split("/")[:-1])):
                return refuse("the key's directories refuse the caller")
            return refuse("no such key", 404, "NoSuchKey", alternatives=((405, "MethodNotAllowed"),))
        why = self.own_object(st, version)
        if why:
            return refuse(why)

        def commit(answer):
            version.entry.mode, version.entry.public = mode_for(acl, False, self.umask)
        return ok(commit=commit, why=st.why or "owns the object")

    # ---- actions: multipart uploads ----

    def upload(self, selector, bucket, key):
        """The upload a step names: the selector-th upload in progress, else a made-up one in bucket/key."""
        if self.uploads and selector is not None:
            return self.uploads[selector % len(self.uploads)]
        return Upload(MISSING_UPLOAD, bucket, key, "~nobody")

    def create_multipart_upload(self, ident, bucket, key, acl):
        w = self.writable(ident, bucket, key)
        if not w.allowed:
            return w.expect
        b, st = w.value

        def commit(answer):
            self.uploads.append(Upload(answer.upload_id, bucket, key, st.user, origin=self.origin))
        return ok(commit=commit, why=st.why)

    def upload_part(self, ident, upload, number):
        w = self.writable(ident, upload.bucket, upload.key)
        if not w.allowed:
            return w.expect
        b, st = w.value
        if not any(u is upload for u in self.uploads):
            return refuse("no such upload", 404, "NoSuchUpload")
        return ok(commit=lambda answer: upload.parts.add(number), why=st.why)

    def upload_part_copy(self, ident, upload, number, src_bucket, src_key, src_vid):
        source = self.copy_source(ident, upload.bucket, upload.key, src_bucket, src_key, src_vid)
        if not source.allowed:
            e = source.expect
            if upload not in self.uploads and e.status == 404:
                e.alternatives += ((404, "NoSuchUpload"),)  # two 404s: which one first is not authorization
            return e
        if not any(u is upload for u in self.uploads):
            return refuse("no such upload", 404, "NoSuchUpload")
        return ok(commit=lambda answer: upload.parts.add(number), why=source.value[1].why)

    def list_parts(self, ident, upload):
        g = self.gate(ident, upload.bucket, READ, False)
        if not g.allowed:
            return g.expect
        b, st = g.value
        why = self.list_bucket(st, b)
        if why:
            return refuse(why)
        if not any(u is upload for u in self.uploads):
            return refuse("no such upload", 404, "NoSuchUpload")
        if st.kind == CHECKED and upload.initiator != st.user and b.entry.owner != st.user:
            return refuse(f"{st.user} neither started the upload ({upload.initiator}) nor owns {b.name}")
        return ok(observe=sorted(upload.parts), why=st.why)

    def abort_multipart_upload(self, ident, upload):
        w = self.writable(ident, upload.bucket, upload.key)
        if not w.allowed:
            return w.expect
        b, st = w.value
        if not any(u is upload for u in self.uploads):
            return refuse("no such upload", 404, "NoSuchUpload")
        return ok(204, commit=lambda answer: self.uploads.remove(upload), why=st.why)

    # ---- the website listener ----

    def website_get(self, bucket, path):
        """The website listener reads as the anonymous caller: SIGV4 only public objects, SIMPLE the anonymous
        user's rights. Observe: the body of a 200."""
        b = self.buckets.get(bucket)
        if b is None or not b.website:
            return Expect(404, why="no website")
        key = path[1:] + ("index.html" if path.endswith("/") else "")
        if self.sigv4:
            st = Standing(CHECKED, "~anonymous", Caller("~anonymous", (), anon=True))
        else:
            st = Standing(CHECKED, self.anonymous_user, self.caller(self.anonymous_user))
        r = self.read_object(st, b, key)
        if not r.allowed:
            return Expect(r.expect.status if r.expect.status == 403 else 404, why=r.expect.why)
        return ok(observe=r.value.body)


def roll_up(keys, prefix, delimiter):
    """S3's listing of `keys` (already filtered to the prefix): (keys shown, common prefixes)."""
    shown, prefixes = [], set()
    for k in keys:
        rest = k[len(prefix):]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest[:rest.index(delimiter) + len(delimiter)])
        else:
            shown.append(k)
    return sorted(shown), sorted(prefixes)
