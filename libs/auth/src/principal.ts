import type { Role } from './roles';

/** A person (or script) authenticated with an API key. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  name: string;
  role: Role;
  /** Which interface the call came from, recorded on incident timelines (`api`, `cli`, ...). */
  via: string;
}

/** An agent runtime authenticated with a lease token. */
export interface AgentPrincipal {
  kind: 'agent';
  agentId: string;
  leaseId: string;
  epoch: number;
}

export type Principal = UserPrincipal | AgentPrincipal;

/** A user as stored: never includes key material. */
export interface User {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
}
