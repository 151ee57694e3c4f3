using AiGateway.Ledger.Api;

namespace AiGateway.Api;

/// <summary>Maps the gateway's own HTTP APIs.</summary>
public static class ApiExtensions
{
    /// <summary>Maps the admin API under <c>/admin</c>, every endpoint behind the admin key.</summary>
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>();
        admin.MapAdminAccountsApi();
        admin.MapLedgerAdminApi();
        admin.MapAdminAccountViewsApi().MapCsvExportApi();
        // The ledger's database transactions so far (also the aigateway.ledger.transactions metric), for benchmarks.
        admin.MapGet("/ledger/stats", (Ledger.CreditLedger ledger, Ledger.CreditLeases leases) =>
            TypedResults.Ok(new { transactions = ledger.Transactions, leases = leases.Active, instanceId = leases.InstanceId }));
        return admin;
    }

    /// <summary>Maps the user API under <c>/v1/credits</c>, every endpoint behind a gateway key and scoped to its account.</summary>
    public static RouteGroupBuilder MapUserApi(this IEndpointRouteBuilder app)
    {
        var credits = app.MapGroup("/v1/credits").AddEndpointFilter<GatewayKeyFilter>();
        credits.MapCreditsApi();
        credits.MapUsageApi();
        credits.MapAccountActivityApi();
        return credits;
    }
}
