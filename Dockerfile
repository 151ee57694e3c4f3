# syntax=docker/dockerfile:1
# Build: docker build -t aigateway .   Run: docker run -p 8080:8080 -e Gateway__AdminKey=... -e OPENAI_API_KEY=... -v aigw-data:/app/data aigateway
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props AiGateway.sln ./
COPY src/ src/
RUN dotnet publish src/AiGateway/AiGateway.csproj -c Release -o /app/publish --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app/publish ./
COPY appsettings.json ./
COPY config/ ./config/
RUN mkdir -p /app/data && chown -R app:app /app/data
USER app
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Urls=http://0.0.0.0:8080 \
    ConnectionStrings__Ledger="Data Source=/app/data/aigateway.db" \
    DOTNET_gcServer=0 \
    DOTNET_TC_CallCountingDelayMs=0
# TC_CallCountingDelayMs=0: on a one-CPU container the runtime stretches its tiering delay tenfold and restarts it on
# every new tier-0 JIT, so a busy gateway kept running unoptimized code for minutes (bench/README.md, 2026-11-30).
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["dotnet", "AiGateway.dll", "--healthcheck", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["dotnet", "AiGateway.dll"]
