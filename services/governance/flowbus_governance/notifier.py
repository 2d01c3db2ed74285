"""Telling the orchestrator what became of an approval tied to a workflow step: an approve or
reject command on `flowbus.commands`, keyed by the execution.

A decision is committed first and sent after, so a crash in between leaves it undelivered;
the sweeper sends undelivered decisions again. Commands have deterministic message ids
(`governance:<approval id>`), and the orchestrator refuses a decision for a step that is no
longer waiting, so sending twice is harmless.
"""

from __future__ import annotations

from flowbus_governance.adapters.approvals import Approval, ApprovalStore
from flowbus_shared.bus.port import MessageBus
from flowbus_shared.schemas import ApproveStep, RejectStep
from flowbus_shared.topics import COMMANDS


class ApprovalNotifier:
    def __init__(self, bus: MessageBus, approvals: ApprovalStore) -> None:
        self._bus = bus
        self._approvals = approvals

    async def __call__(self, approval: Approval) -> None:
        if approval.state == "pending" or not approval.execution_id or not approval.step_id:
            return
        by = approval.decided_by or "governance"
        message_id = f"governance:{approval.approval_id}"
        command: ApproveStep | RejectStep
        if approval.state == "approved":
            command = ApproveStep(
                message_id=message_id,
                execution_id=approval.execution_id,
                step_id=approval.step_id,
                approved_by=by,
                comment=approval.decision_comment or "",
            )
        else:
            reason = (
                "approval expired"
                if approval.state == "expired"
                else (approval.decision_comment or "rejected")
            )
            command = RejectStep(
                message_id=message_id,
                execution_id=approval.execution_id,
                step_id=approval.step_id,
                rejected_by=by,
                reason=reason,
            )
        await self._bus.publish(COMMANDS, command)
        await self._approvals.mark_notified(approval.approval_id)

    async def sweep(self) -> int:
        """Expire what is due and send every decision not yet delivered; how many were sent."""
        expired = await self._approvals.expire_due()
        undelivered = await self._approvals.undelivered()
        due = {a.approval_id: a for a in [*expired, *undelivered]}
        for approval in due.values():
            await self(approval)
        return len(due)
