namespace AiGateway.Api;

/// <summary>Maps the gateway's own HTTP APIs.</summary>
public static class ApiExtensions
{
    /// <summary>Maps the admin API under <c>/admin</c>, every endpoint behind the admin key.</summary>
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>();
        admin.MapAdminAccountsApi();
        return admin;
    }
}
