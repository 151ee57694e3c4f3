using AiGateway.Ledger;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddJsonFile("config/plans.json", optional: true, reloadOnChange: true);
builder.Services.AddLedgerStorage(builder.Configuration);
builder.Services.AddLedger(builder.Configuration);

var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { status = "alive" }));
app.Run();

/// <summary>Entry point; public so integration tests can host it with WebApplicationFactory.</summary>
public partial class Program;
