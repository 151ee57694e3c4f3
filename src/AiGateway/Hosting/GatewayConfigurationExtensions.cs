namespace AiGateway.Hosting;

/// <summary>Loads <c>appsettings.json</c> and every <c>config/*.json</c> from the content root, below environment variables and arguments.</summary>
public static class GatewayConfigurationExtensions
{
    /// <summary>Adds the <c>config/</c> folder's JSON files, then re-adds environment variables and command-line arguments so they keep the last word.</summary>
    public static WebApplicationBuilder AddGatewayConfiguration(this WebApplicationBuilder builder, string[] args)
    {
        var configDir = Path.Combine(builder.Environment.ContentRootPath, builder.Configuration["Gateway:ConfigDirectory"] ?? "config");
        if (Directory.Exists(configDir))
        {
            foreach (var file in Directory.GetFiles(configDir, "*.json").Order(StringComparer.Ordinal))
            {
                builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: false);
            }
        }
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(args);
        return builder;
    }
}
