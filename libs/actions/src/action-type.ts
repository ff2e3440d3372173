/** How an action type is carried out. New kinds plug in through `ActionExecutor`. */
export type ExecutorSpec =
  { kind: 'webhook'; url: string; timeoutMs: number; secret: string } | { kind: 'noop' };

/** An executor as a caller registers it: its kind, and that kind's fields (some defaulted). */
export type ExecutorInput = { kind: string } & Record<string, unknown>;

/** The catalog's word on one type of action: whether it can be undone is never the agent's. */
export interface ActionType {
  type: string;
  executor: ExecutorSpec;
  reversible: boolean;
  /** The type whose execution undoes this one, fed with this action's stored `undo`. */
  compensation?: string;
  requiresApproval: boolean;
  updatedAt: string;
}

/**
 * The catalog as shown to callers: webhook secrets never leave the server, and a webhook's
 * path and query (which may hold a secret of their own) are for admins, who set them. Others
 * see where it goes: its origin.
 */
export function publicActionType(type: ActionType, { fullUrl }: { fullUrl: boolean }): ActionType {
  if (type.executor.kind !== 'webhook') {
    return type;
  }
  const { url } = type.executor;
  return {
    ...type,
    executor: { ...type.executor, url: fullUrl ? url : hiddenPath(url), secret: '[set]' },
  };
}

function hiddenPath(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname === '/' && !parsed.search ? url : `${parsed.origin}/[hidden]`;
}
