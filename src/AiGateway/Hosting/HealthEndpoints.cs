using AiGateway.Ledger;
using AiGateway.Storage;

namespace AiGateway.Hosting;

/// <summary>Liveness and readiness probes.</summary>
public static class HealthEndpoints
{
    /// <summary>Maps <c>GET /healthz</c> (process alive) and <c>GET /readyz</c> (database reachable).</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        app.MapGet("/readyz", async Task<IResult> (LedgerDbContext db, CancellationToken ct) =>
        {
            try
            {
                if (await db.Database.CanConnectAsync(ct)) return TypedResults.Ok(new { status = "ready" });
            }
            catch (Exception)
            {
                // Readiness only reports; the cause is logged by the data layer.
            }
            return TypedResults.Json(new { status = "database unavailable" }, statusCode: 503);
        });
        return app;
    }
}
