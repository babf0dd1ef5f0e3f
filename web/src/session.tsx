import { createContext, useContext } from 'react';
import type { Operator, Role } from './api';

export const SessionContext = createContext<Operator | undefined>(undefined);

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Whether the signed-in operator's role allows what `needed` allows. The routes check again. */
export function useCan(needed: Role): boolean {
  const operator = useContext(SessionContext);
  return operator !== undefined && RANK[operator.role] >= RANK[needed];
}

export function useOperator(): Operator | undefined {
  return useContext(SessionContext);
}
