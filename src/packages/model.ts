// The backend-neutral package model. Backends (backends/deb, backends/rpm) produce these; nothing
// outside backends/ looks at a package's kind to decide what to do.

export type PackageKind = "deb" | "rpm";

/** Version comparison operators, in the spelling both worlds map onto. */
export type VersionOp = "<" | "<=" | "=" | ">=" | ">";

/** One atom of a relationship: `name [:qualifier] [(op version)]`. */
export interface Atom {
  name: string;
  /** deb: `any` / `native` / an arch after `:`; rpm: unused. */
  archQualifier?: string;
  op?: VersionOp;
  /** The version text as written in the package (deb: [epoch:]upstream[-revision]; rpm: [epoch:]version[-release]). */
  version?: string;
}

/**
 * A relationship term. Debian relationships are an AND of OR-groups of atoms; rpm rich dependencies
 * need the full tree. Plain atoms are the common case.
 */
export type Dep =
  | { kind: "atom"; atom: Atom }
  | { kind: "or"; terms: Dep[] }
  | { kind: "and"; terms: Dep[] }
  | { kind: "if"; cond: Dep; then: Dep; else?: Dep }
  | { kind: "unless"; cond: Dep; then: Dep; else?: Dep }
  | { kind: "with"; terms: Dep[] }
  | { kind: "without"; terms: Dep[] };

export type RelationKind =
  | "depends" // deb Depends, rpm Requires
  | "pre-depends" // deb Pre-Depends, rpm Requires(pre)
  | "recommends" // deb Recommends, rpm Recommends
  | "suggests" // deb Suggests, rpm Suggests
  | "enhances"
  | "supplements"
  | "conflicts"
  | "breaks"
  | "replaces"
  | "obsoletes"
  | "provides";

/** Each relationship kind maps to a list of terms that must all hold (a conjunction). */
export type Relations = Partial<Record<RelationKind, Dep[]>>;

export type FileType = "file" | "dir" | "symlink" | "hardlink";

export interface PackageFile {
  /** Absolute path inside the target tree, normalized, starting with "/". */
  path: string;
  type: FileType;
  /** Permission and special bits (07777), without the file-type bits. */
  mode: number;
  user: string;
  group: string;
  /** Numeric owner where the format carries one (deb tar headers); rpm carries names only. */
  uid?: number;
  gid?: number;
  size: number;
  /** Symlink target, or for a hardlink the path (absolute, in the tree) of the file it links to. */
  linkTarget?: string;
  /** Hex digest of the content, with its algorithm ("md5", "sha256", ...). */
  digest?: { algo: string; hex: string };
  mtime?: number;
  config?: boolean;
  ghost?: boolean;
  doc?: boolean;
  /** Device nodes and fifos are recorded so they can be refused or skipped with a clear message. */
  special?: "char" | "block" | "fifo" | "socket";
  /**
   * A directory the archive does not list but its paths need (rpm file lists often omit them); the
   * readers add it with mode 0755 root:root before its first child.
   */
  implied?: boolean;
  /** File capabilities in cap_to_text(3) form ("cap_net_raw=ep"), from rpm's %caps; import sets the xattr. */
  caps?: string;
}

export interface Script {
  /** deb: preinst/postinst/prerm/postrm/config; rpm: pretrans/pre/post/preun/postun/posttrans/... */
  phase: string;
  interpreter: string;
  body: string;
  /**
   * The package manager runs the script file itself (dpkg's maintainer scripts); `interpreter` is then
   * only what its #! line names. Otherwise the script is fed to `interpreter` (rpm scriptlets).
   */
  executable?: boolean;
}

export interface Trigger {
  /** deb: `interest`/`activate`...; rpm: `triggerin`/`filetriggerin`/... */
  kind: string;
  condition: string;
  script?: Script;
}

export interface PackageMeta {
  kind: PackageKind;
  name: string;
  /** 0 when absent. */
  epoch: number;
  /** deb: upstream version; rpm: VERSION. */
  version: string;
  /** deb: Debian revision ("" when absent); rpm: RELEASE. */
  release: string;
  arch: string;
  summary: string;
  description?: string;
  maintainer?: string;
  section?: string;
  priority?: string;
  essential?: boolean;
  /** deb Multi-Arch: same | foreign | allowed | no. */
  multiArch?: string;
  installedSize?: number;
  homepage?: string;
  license?: string;
  source?: string;
  relations: Relations;
  /** All raw fields/tags the backend saw, for `inspect` and the package database. */
  extra?: Record<string, string>;
}

/**
 * What the native package manager keeps in its own database for an installed package, read with the
 * metadata, so that database can be written later without the package file.
 */
export interface NativeRecord {
  /** Members of the control area (deb: control.tar: "control", "md5sums", "postinst"…), sorted by name. */
  controlFiles?: [string, Buffer][];
  /** The header as the package database stores it (rpm: main header with the signature tags merged, no magic). */
  header?: Buffer;
}

/** A fully read package file: its metadata plus everything the payload will carry. */
export interface PackageInfo extends PackageMeta {
  files: PackageFile[];
  scripts: Script[];
  triggers: Trigger[];
  conffiles: string[];
  native?: NativeRecord;
}

/** One payload entry, streamed in archive order. `data` is only set for regular files. */
export interface PayloadEntry {
  file: PackageFile;
  /** For regular files: the content, read fully (packages stream entry by entry). */
  data?: AsyncIterable<Buffer> | Buffer;
}

export interface OpenedPackage {
  /** Metadata as read(path) gives it, except that the file list may be empty. */
  info: PackageInfo;
  /**
   * The payload, as payload(path) streams it, call at most once; except that per-file digests are
   * checked only where nothing covers the payload as a whole (the backends say which).
   */
  payload(): AsyncIterable<PayloadEntry>;
  /** Releases what was opened for the payload when it will not be read (safe to call again). */
  close(): void;
}

export interface PackageBackend {
  readonly kind: PackageKind;
  /** True when the first bytes look like this backend's format. */
  sniff(head: Buffer): boolean;
  /** Reads metadata, file list and scripts (and verifies what the format lets us verify). */
  read(path: string): Promise<PackageInfo>;
  /** Streams the payload entries in archive order; validates every path before yielding it. */
  payload(path: string): AsyncIterable<PayloadEntry>;
  /**
   * read(path), without the file list where that would cost a pass over the payload, and
   * payload(path) in one: the payload reuses what reading the metadata already parsed and
   * decompressed (an importer's path).
   */
  open(path: string): Promise<OpenedPackage>;
  /** The backend's own version order: negative, 0, positive. */
  compareVersions(a: string, b: string): number;
  /** The version as the native tools print it. */
  formatVersion(meta: Pick<PackageMeta, "epoch" | "version" | "release">): string;
}
