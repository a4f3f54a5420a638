/** A numbered schema change; each dialect has the same list of versions and names, in lockstep. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
