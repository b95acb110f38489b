/**
 * The highest store revision a client has seen in a KV answer, so that a read never goes back
 * in time (Go's `ordering` package): a member that lags behind may answer a `serializable` read
 * from an older revision than one the client already saw from another member. One per client,
 * shared by its namespaces; `ordering: false` in the client options turns it off.
 *
 * @example
 * const core = createCore({ endpoints: [a, b, c] });
 * core.revisions?.revision;   // 0 until a KV answer arrived
 */
export class RevisionFloor {
  private highest = 0;

  /** The highest revision seen so far (0: none yet). */
  get revision(): number {
    return this.highest;
  }

  /**
   * Notes the revision of an answer. An answer that cannot be stale (a write, a linearizable
   * read) yet is older than the floor means the cluster itself went back (restored from a
   * backup): the floor follows it down, or every later serializable read would be refused.
   */
  observe(revision: number, authoritative: boolean, floorAtStart: number): void {
    if (revision <= 0) return; // no header: nothing learned
    if (revision > this.highest) this.highest = revision;
    else if (authoritative && revision < floorAtStart) this.highest = revision;
  }
}
