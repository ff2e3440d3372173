import { Injectable } from '@nestjs/common';
import { badRequest, conflict, notFound } from '@app/core';
import { ActionType, ExecutorInput, publicActionType } from './action-type';
import { ActionTypesRepository } from './action-types.repository';
import { ActionsRepository } from './actions.repository';
import { ExecutorRegistry } from './executors/executor-registry';

export interface ActionTypeInput {
  executor: ExecutorInput;
  reversible: boolean;
  compensation?: string;
  requiresApproval?: boolean;
}

@Injectable()
export class ActionTypesService {
  constructor(
    private readonly types: ActionTypesRepository,
    private readonly executors: ExecutorRegistry,
    private readonly actions: ActionsRepository,
  ) {}

  // Workers cache catalog entries briefly; a change tells them to drop theirs at once.
  private async changed(type: string): Promise<void> {
    await this.actions.publishControl({ typeChanged: type });
  }

  async put(type: string, input: ActionTypeInput): Promise<ActionType> {
    const executor = this.executors.parse(input.executor);
    if (input.requiresApproval) {
      throw badRequest('requiresApproval is not supported yet: approvals are not available');
    }
    if (input.reversible && !input.compensation) {
      throw badRequest('A reversible type must name its compensation type');
    }
    if (!input.reversible && input.compensation) {
      throw badRequest('Only a reversible type may name a compensation');
    }
    if (input.compensation) {
      if (input.compensation === type) {
        throw badRequest('A type cannot be its own compensation');
      }
      if (!(await this.types.get(input.compensation))) {
        throw badRequest(
          `Compensation type ${input.compensation} does not exist; register it first`,
        );
      }
    }
    const definition: ActionType = {
      type,
      executor,
      reversible: input.reversible,
      ...(input.compensation ? { compensation: input.compensation } : {}),
      requiresApproval: false,
      updatedAt: new Date().toISOString(),
    };
    await this.types.put(definition);
    await this.changed(type);
    return publicActionType(definition, { fullUrl: true });
  }

  /**
   * The full definition, secrets included, or undefined if the catalog has none: for the gate,
   * executors and rollbacks only. A failed read throws: it says nothing about the type.
   */
  find(type: string): Promise<ActionType | undefined> {
    return this.types.get(type);
  }

  /** {@link find}, for a type that must exist. */
  async require(type: string): Promise<ActionType> {
    const definition = await this.find(type);
    if (!definition) {
      throw notFound(`Action type ${type}`);
    }
    return definition;
  }

  /** A type as `publicActionType` shows it; `fullUrl` for admins. */
  async get(type: string, view: { fullUrl: boolean }): Promise<ActionType> {
    return publicActionType(await this.require(type), view);
  }

  async list(view: { fullUrl: boolean }): Promise<ActionType[]> {
    return (await this.types.list()).map((type) => publicActionType(type, view));
  }

  async delete(type: string): Promise<{ type: string; deleted: true }> {
    const all = await this.types.list();
    const dependants = all.filter((t) => t.compensation === type).map((t) => t.type);
    if (dependants.length > 0) {
      throw conflict(`${type} is the compensation of ${dependants.join(', ')}; change those first`);
    }
    if (!(await this.types.delete(type))) {
      throw notFound(`Action type ${type}`);
    }
    await this.changed(type);
    return { type, deleted: true };
  }
}
