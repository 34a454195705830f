import { useState, type ReactNode } from "react";
import type { ArtifactStatus } from "../gql/graphql";
import { messageOf } from "../lib/api";

const STATUS_LABEL: Record<ArtifactStatus, string> = {
  SCANNED: "Scanned",
  PULLING: "Pulling",
  PULLED: "Pulled",
  VERIFYING: "Verifying",
  NEEDS_APPROVAL: "Needs approval",
  AVAILABLE: "Available",
  FAILED: "Failed",
  REJECTED: "Rejected",
};

/** A revision's status; the enum value is kept in data-status for scripts and tests. */
export function StatusBadge({ status, version }: { status: ArtifactStatus; version?: string }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-status={status} title={version ? `${version}: ${STATUS_LABEL[status]}` : undefined}>
      {version ? <span className="badge-version">{version}</span> : null}
      {STATUS_LABEL[status]}
    </span>
  );
}

export function ErrorNote({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="note note-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      <span className="pre-line">{messageOf(error)}</span>
    </div>
  );
}

export function Notice({ children, kind = "info" }: { children: ReactNode; kind?: "info" | "success" }) {
  return (
    <div className={`note note-${kind}`} role="status">
      {children}
    </div>
  );
}

/**
 * A destructive action asks once more in place (no window.confirm: it blocks the page, and a
 * phone shows it badly). The first press arms it; "Cancel" or leaving disarms it.
 */
export function ConfirmButton({ label, confirm, onConfirm, disabled }: { label: string; confirm: string; onConfirm: () => void; disabled?: boolean }) {
  const [armed, setArmed] = useState(false);
  if (!armed) {
    return (
      <button type="button" className="button button-danger" disabled={disabled} onClick={() => setArmed(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={confirm}>
      <span className="confirm-text">{confirm}</span>
      <button
        type="button"
        className="button button-danger"
        autoFocus
        onClick={() => {
          setArmed(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" className="button" onClick={() => setArmed(false)}>
        Keep
      </button>
    </span>
  );
}

/** Runs an async action, tracking whether it is running and what it failed with. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (failure) {
      setError(failure);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
