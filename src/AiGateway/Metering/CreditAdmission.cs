using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Providers;

namespace AiGateway.Metering;

/// <summary>
/// Steps "admit" and "hold": reserves the estimate on the account's credits atomically, or refuses with 402. Under a
/// plan's <c>clamp</c> policy an unaffordable request is not refused but its output limit is lowered to what the
/// balance affords (refused only when not even the input is affordable). Unlimited models hold nothing.
/// </summary>
public sealed class CreditAdmission(CreditLedger ledger, PlanCatalog plans, CallEstimator estimator)
{
    private const int ClampAttempts = 3;

    /// <summary>Admits the call, updating <paramref name="call"/> (hold, clamp, estimate); returns the error to answer with when refused.</summary>
    public async Task<GatewayError?> AdmitAsync(MeteredCall call, CancellationToken cancellationToken)
    {
        var caller = call.Caller;
        if (plans.IsUnlimited(caller.Plan, call.Estimate.Price.Name) ||
            (call.Request.Model is { } model && plans.IsUnlimited(caller.Plan, model)))
        {
            call.Unlimited = true;
            var balance = await ledger.GetBalanceAsync(caller.AccountId, cancellationToken: cancellationToken);
            call.AvailableAfterHold = balance?.Available ?? Credits.Zero;
            return null;
        }

        var reserve = await ledger.ReserveAsync(caller.AccountId, call.Estimate.Credits, call.RequestId, cancellationToken, call.Task, call.TaskBudget, call.Scope,
            CallRecorder.Interrupted(call));
        var clamp = plans.GetOveragePolicy(caller.Plan) == OveragePolicies.Clamp;
        for (var i = 0; !reserve.Succeeded && reserve.Status == ReserveStatus.InsufficientCredits && clamp && i < ClampAttempts; i++)
        {
            // Lower the output limit to what is available now; another request may take credits meanwhile, so retry a few times.
            var affordable = CostCalculator.AffordableOutputTokens(call.Estimate.Price, call.Estimate.InputTokens, reserve.Available)
                             / Math.Max(1, call.Request.N);
            if (affordable < 1 || !SupportsOutputLimit(call.Request.Operation)) break;
            var current = call.Estimate.OutputTokens / Math.Max(1, call.Request.N);
            var limit = (int)Math.Min(Math.Min(affordable, current), int.MaxValue);
            if (limit < 1) break;
            var clamped = estimator.Estimate(call.Request, limit).Estimate!;
            call.Estimate = clamped;
            call.Clamped = true;
            reserve = await ledger.ReserveAsync(caller.AccountId, clamped.Credits, call.RequestId, cancellationToken, call.Task, call.TaskBudget, call.Scope,
                CallRecorder.Interrupted(call));
        }

        call.AvailableAfterHold = reserve.Available;
        if (reserve.Succeeded)
        {
            call.Held = true;
            return null;
        }
        return reserve.Status switch
        {
            ReserveStatus.InsufficientCredits => new GatewayError(GatewayErrorKind.InsufficientCredits,
                $"Insufficient credits: this request is estimated at {call.Estimate.Credits} credits and {reserve.Available} are available.",
                Code: "insufficient_quota"),
            // Same 402 shape as running out of credits (OpenAI type insufficient_quota), told apart by its code.
            ReserveStatus.TaskBudgetExceeded => new GatewayError(GatewayErrorKind.InsufficientCredits,
                $"Task budget exceeded: task '{call.Task}' cannot spend another {call.Estimate.Credits} credits within its budget.",
                Code: "task_budget_exceeded"),
            ReserveStatus.UnknownAccount => new GatewayError(GatewayErrorKind.Unauthorized, "The account of this key no longer exists.", Code: "invalid_api_key"),
            _ => new GatewayError(GatewayErrorKind.BadRequest, "This request id was already used.", Code: "duplicate_request"),
        };
    }

    /// <summary>The output limit the clamp policy chose, or null when the request goes as the client sent it.</summary>
    public static int? ClampedLimit(MeteredCall call) =>
        call.Clamped ? (int)Math.Min(call.Estimate.OutputTokens / Math.Max(1, call.Request.N), int.MaxValue) : null;

    private static bool SupportsOutputLimit(Operation operation) => operation is Operation.OpenAiChatCompletions
        or Operation.OpenAiCompletions or Operation.OpenAiResponses or Operation.AnthropicMessages
        or Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent;
}
