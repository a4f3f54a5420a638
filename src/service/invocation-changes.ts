/**
 * In-process wake-ups for readers following an invocation (StreamInvocationOutput): the service
 * calls `changed` after it applies a change to one of the invocation's rows on this node. A change
 * applied by another node is not seen here; followers re-read on a timer for that.
 */
export class InvocationChanges {
  private readonly listeners = new Map<string, Set<() => void>>();

  /** Calls `listener` on every change of `invokeId` until the returned function is called. */
  subscribe(invokeId: string, listener: () => void): () => void {
    let set = this.listeners.get(invokeId);
    if (!set) {
      set = new Set();
      this.listeners.set(invokeId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(invokeId) === set) this.listeners.delete(invokeId);
    };
  }

  changed(invokeId: string): void {
    const set = this.listeners.get(invokeId);
    if (!set) return;
    // A copy: a listener may unsubscribe while we call the others.
    for (const listener of [...set]) listener();
  }

  /** Listeners of one invocation, or of all (tests check nothing is left behind). */
  listenerCount(invokeId?: string): number {
    if (invokeId !== undefined) return this.listeners.get(invokeId)?.size ?? 0;
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }
}
