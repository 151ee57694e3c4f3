using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace AiGateway.Dashboard;

/// <summary>Serves the billing dashboard (plain HTML, CSS and JS embedded in the assembly) at <c>/dashboard</c>.</summary>
public static class DashboardExtensions
{
    /// <summary>The URL path the dashboard is served under.</summary>
    public const string Path = "/dashboard";

    // The assets are embedded resources (see the csproj) so they are found wherever the gateway runs from: the
    // repository root, the build output, a test host with another content root, or a published container.
    private const string ResourceNamespace = "AiGateway.wwwroot.dashboard";

    // The dashboard loads only its own files and calls only this origin; nothing inline, nothing framed.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Serves the dashboard under <c>/dashboard</c> (<c>/dashboard</c> redirects to <c>/dashboard/</c>, which serves index.html); nothing else is affected.</summary>
    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.UseDashboard();
        return app;
    }

    /// <summary>The middleware behind <see cref="MapDashboard"/>, for pipelines built from an <see cref="IApplicationBuilder"/> (e.g. a startup filter in tests).</summary>
    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        var files = new EmbeddedFileProvider(typeof(DashboardExtensions).Assembly, ResourceNamespace);
        // Scoped to /dashboard; it also redirects /dashboard to /dashboard/ so relative asset URLs resolve.
        app.UseDefaultFiles(new DefaultFilesOptions { RequestPath = Path, FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = Path,
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                // Revalidate each time (cheap with the ETag) so a new gateway version's assets are picked up at once.
                headers.CacheControl = "no-cache";
            },
        });
        return app;
    }
}
