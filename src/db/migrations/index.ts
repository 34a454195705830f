import { Initial1795744821474 } from "./1795744821474-Initial";

/** Every migration, in order. New ones are appended here. */
export const MIGRATIONS = [Initial1795744821474];
