using AiGateway.Ledger.Api;
using AiGateway.Notifications;
using AiGateway.Packs;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AiGateway.Api;

/// <summary>Maps the gateway's own HTTP APIs, their error bodies and their OpenAPI description.</summary>
public static class ApiExtensions
{
    /// <summary>Path of the OpenAPI document.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    /// <summary>Path of the API reference page.</summary>
    public const string ReferencePath = "/scalar/v1";

    /// <summary>Registers the OpenAPI document of the user and admin APIs (<c>/openapi/v1.json</c>).</summary>
    public static IServiceCollection AddGatewayApi(this IServiceCollection services)
    {
        services.AddOpenApi(options =>
        {
            // Only the gateway's own APIs: provider routes are the providers' APIs, documented by them.
            options.ShouldInclude = description => description.RelativePath is { } path &&
                (path.StartsWith("admin", StringComparison.Ordinal) || path.StartsWith("v1/credits", StringComparison.Ordinal));
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "AiGateway user and admin APIs",
                    Version = "v1",
                    Description = "User endpoints (/v1/credits) take a gateway key as 'Authorization: Bearer <key>'; admin endpoints (/admin) " +
                                  "take Gateway:AdminKey the same way. Credits are decimal numbers. Every error is a ProblemDetails body, " +
                                  "except the estimate dry run, which answers in the provider's error shape.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A gateway key (user API) or the admin key (admin API).",
                };
                document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>
    /// Gives every error of the user and admin APIs a ProblemDetails body, including the ones the framework answers with an
    /// empty body (an unbindable argument or JSON body, an unknown path). Provider routes are left alone: their errors keep
    /// the provider's shape and an upstream's empty body stays empty.
    /// </summary>
    public static WebApplication UseApiErrorBodies(this WebApplication app)
    {
        app.UseWhen(context => IsApiPath(context.Request.Path), api => api.UseStatusCodePages());
        return app;
    }

    private static bool IsApiPath(PathString path) =>
        path.StartsWithSegments("/admin", StringComparison.Ordinal) || path.StartsWithSegments("/v1/credits", StringComparison.Ordinal);

    /// <summary>Serves the OpenAPI document and the API reference page built from it.</summary>
    public static WebApplication MapApiReference(this WebApplication app)
    {
        app.MapOpenApi(OpenApiPath);
        // Scalar's script is served from the package (no CDN); its default web fonts would be fetched from the internet, so not those.
        app.MapScalarApiReference("/scalar", options => options
            .WithTitle("AiGateway API reference")
            .WithOpenApiRoutePattern(OpenApiPath)
            .DisableDefaultFonts());
        return app;
    }

    /// <summary>Maps the admin API under <c>/admin</c>, every endpoint behind the admin key.</summary>
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapAdminAccountsApi();
        admin.MapLedgerAdminApi();
        admin.MapPacksAdminApi();
        admin.MapNotificationsAdminApi();
        admin.MapAdminAccountViewsApi().MapCsvExportApi();
        admin.MapAdminConsoleApi();
        // The ledger's database transactions (also the aigateway.ledger.transactions metric) and PostgreSQL round trips so
        // far, for benchmarks.
        admin.MapGet("/ledger/stats", (Ledger.CreditLedger ledger, Ledger.CreditLeases leases) =>
            TypedResults.Ok(new { transactions = ledger.Transactions, roundTrips = ledger.RoundTrips, lateLockRetries = ledger.LateLockRetries, leases = leases.Active, instanceId = leases.InstanceId, leaseFallbacks = leases.Fallbacks, leaseRecallsSeen = leases.RecallsSeen }))
            .WithName("GetLedgerStats")
            .WithSummary("This instance's ledger database transactions and PostgreSQL round trips so far, whether it uses credit leases, and its instance id")
            .WithTags(ApiTags.AdminCredits);
        return admin;
    }

    /// <summary>Maps the user API under <c>/v1/credits</c>, every endpoint behind a gateway key and scoped to its account.</summary>
    public static RouteGroupBuilder MapUserApi(this IEndpointRouteBuilder app)
    {
        var credits = app.MapGroup("/v1/credits").AddEndpointFilter<GatewayKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        credits.MapCreditsApi();
        credits.MapUsageApi();
        credits.MapAccountActivityApi();
        credits.MapPacksUserApi();
        return credits;
    }
}
