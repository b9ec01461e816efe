"""The console in headless Chromium against the local run (scripts/test).

A user signs in with a token (by keyboard), creates and edits a subscription
through the form, an event is posted through the API, and the user finds it on
the events page and in the subscription's delivery health; a replay starts; a
bad cron on the jobs form shows the API's message next to the field; a job runs
now (the local run's own route). The API reference renders openapi.yaml with
nothing loaded from another origin and no error in the browser's log.
Screenshots of every page at 1280 and 390 px (and the reference's at 1280) go
to the directory given.

usage: console_test.py BASE_URL TOKEN TENANT SCREENSHOT_DIR
"""

import base64
import json
import os
import sys
import time
import urllib.request

import boto3
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

BASE, TOKEN, TENANT, SHOTS = sys.argv[1:5]
PAGES = ["settings", "events", "subscriptions", "jobs", "definitions", "rules", "customer"]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # This machine's network is closed: no background connections, no sandbox as root.
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def post_event(entity_id):
    body = {"entity_id": entity_id, "entity_name": "ORDER", "event_source": "APPLICATION",
            "event_type": "ENTITY_EVENT",
            "event_payload": {"operation": "CREATE", "key_attributes": {"channel": "web"},
                              "base64_encoded_payload_json": base64.b64encode(b'{"total": 42.5}').decode()}}
    request = urllib.request.Request(f"{BASE}/api/v1/events", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-TWC-Tenant": TENANT,
                                              "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 201, response.status
        return json.load(response)["id"]


def fill(driver, name, value):
    element = driver.find_element(By.NAME, name)
    element.clear()
    element.send_keys(value)


def main():
    # Tagged for the tenant: a queue of the stack's account takes its deliveries only then.
    queue = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName=f"console-{int(time.time())}", tags={"event-collector:tenant": TENANT})["QueueUrl"]
    driver = browser()
    wait = WebDriverWait(driver, 20)
    try:
        # GIVEN a user who signs in with a tenant and a token
        driver.get(f"{BASE}/console/")
        wait.until(seen.presence_of_element_located((By.NAME, "tenant")))
        # (by keyboard alone: type, Tab to the next field, Enter to submit)
        tenant = driver.find_element(By.NAME, "tenant")
        tenant.clear()
        tenant.send_keys(TENANT, Keys.TAB)
        driver.switch_to.active_element.send_keys(TOKEN, Keys.ENTER)
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "Signed in"))

        # WHEN they create a subscription through the form
        driver.get(f"{BASE}/console/#subscriptions")
        wait.until(seen.presence_of_element_located((By.NAME, "entityType")))
        fill(driver, "entityType", "ORDER")
        fill(driver, "address", queue)
        driver.find_element(By.XPATH, "//button[text()='Create subscription']").click()
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "Created subscription"))
        subscription = driver.find_element(By.ID, "status").text.split()[-1].rstrip(".")

        # AND an event is posted through the API
        entity = f"ORD-C{int(time.time())}"
        event_id = post_event(entity)

        # THEN the events page finds it
        driver.get(f"{BASE}/console/#events")
        wait.until(seen.presence_of_element_located((By.NAME, "entity_name")))
        fill(driver, "entity_name", "ORDER")
        fill(driver, "entity_id", entity)
        driver.find_element(By.XPATH, "//button[text()='Search']").click()
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-event-id='{event_id}']")))
        caption = driver.find_element(By.CSS_SELECTOR, "figcaption").text
        assert caption.startswith("ORDER events per hour") and "events" in caption, caption

        # AND the subscription's delivery health shows it delivered, once the fan-out ran
        deadline = time.time() + 30
        while True:
            driver.get(f"{BASE}/console/#subscriptions")
            driver.refresh()
            row = wait.until(seen.presence_of_element_located(
                (By.CSS_SELECTOR, f"tr[data-subscription-id='{subscription}']")))
            last = row.find_element(By.CSS_SELECTOR, "[data-last-attempt]").text
            if last.startswith("delivered"):
                break
            assert time.time() < deadline, f"no delivery shown: {last!r}"
            time.sleep(0.5)
        health = row.find_element(By.CSS_SELECTOR, "[data-health]").text
        assert health.startswith("0 failures"), health
        assert "1 delivered" in row.find_element(By.CSS_SELECTOR, "figcaption").text, "the sparkline counts it"

        # WHEN it is edited to follow changes too, with a content filter EventBridge would refuse
        row.find_element(By.XPATH, ".//button[text()='Edit']").click()
        driver.find_element(By.NAME, "subscribeChange").click()
        fill(driver, "filter", '{"data": {"total": [{"numeric": [">=", "100"]}]}}')
        driver.find_element(By.XPATH, f"//button[text()='Save {subscription}']").click()
        # THEN the filter's field names the part that is wrong
        wait.until(seen.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "label .error"), "data.total[0].numeric[1]: must be a number"))
        # AND with a valid one and a rate limit of 10 a second it is saved, and its row shows both
        fill(driver, "filter", '{"entityName": ["ORDER"]}')
        fill(driver, "rateLimit", "10")
        driver.find_element(By.XPATH, f"//button[text()='Save {subscription}']").click()
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), f"Saved subscription {subscription}"))
        row = wait.until(seen.presence_of_element_located(
            (By.CSS_SELECTOR, f"tr[data-subscription-id='{subscription}'] [data-filter]")))
        assert row.text == '{"entityName":["ORDER"]}', row.text
        rate = driver.find_element(By.CSS_SELECTOR, f"tr[data-subscription-id='{subscription}'] [data-rate-limit]")
        assert rate.text == "at most 10 a second", rate.text

        # WHEN the last minutes are replayed to the subscription THEN the replay starts
        fill(driver, "subscription", subscription)
        for name, minutes in [("from", 10), ("to", 0)]:
            when = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - minutes * 60))
            driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.NAME, name), when)
        driver.find_element(By.XPATH, "//button[text()='Replay']").click()
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "started: RUNNING"))

        # WHEN a job is created with a schedule that is not a cron
        driver.get(f"{BASE}/console/#jobs")
        wait.until(seen.presence_of_element_located((By.NAME, "schedule")))
        fill(driver, "template_id", "d-console-test")
        fill(driver, "schedule", "every tuesday")
        driver.find_element(By.XPATH, "//button[text()='Create job']").click()
        # THEN the API's message stands next to the schedule field
        error = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "label .error")))
        schedule = driver.find_element(By.NAME, "schedule")
        assert schedule.get_attribute("aria-invalid") == "true"
        assert schedule.get_attribute("aria-describedby") == error.get_attribute("id"), "the message names the field"
        assert error.text, "the API's message is shown"

        # WHEN a valid job is created and run now (the local run's own route)
        fill(driver, "schedule", "rate(1 day)")
        driver.find_element(By.XPATH, "//button[text()='Create job']").click()
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), "Created job"))
        job = driver.find_element(By.ID, "status").text.split()[-1].rstrip(".")
        row = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-job-id='{job}']")))
        row.find_element(By.XPATH, ".//button[text()='Run now']").click()
        # THEN its run shows in its history
        wait.until(seen.text_to_be_present_in_element((By.ID, "status"), f"Ran {job}"))
        wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, "h3"), f"Runs of {job}"))

        # AND the API reference renders openapi.yaml from this origin alone, with no
        # error in the browser's log (a refused load or a CSP violation would be one)
        driver.get_log("browser")
        driver.get(f"{BASE}/console/reference.html")
        wait.until(seen.text_to_be_present_in_element((By.ID, "reference"), "Store one event"))
        wait.until(seen.text_to_be_present_in_element((By.ID, "reference"), "Forget the tenant's SendGrid key"))
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(u.startswith(BASE) or u.startswith("blob:") for u in loaded), loaded
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
        os.makedirs(SHOTS, exist_ok=True)
        driver.save_screenshot(os.path.join(SHOTS, "reference-1280.png"))

        # AND every page is screenshotted at both widths, as the steps above left it
        def search():
            fill(driver, "entity_name", "ORDER")
            fill(driver, "entity_id", entity)
            driver.find_element(By.XPATH, "//button[text()='Search']").click()
            wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-event-id='{event_id}']")))

        def bad_schedule():
            fill(driver, "template_id", "d-console-test")
            fill(driver, "schedule", "every tuesday")
            driver.find_element(By.XPATH, "//button[text()='Create job']").click()
            wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "label .error")))

        steps = {"events": search, "jobs": bad_schedule}
        os.makedirs(SHOTS, exist_ok=True)
        for width, height in [(1280, 900), (390, 844)]:
            driver.set_window_size(width, height)
            for name in PAGES:
                driver.get(f"{BASE}/console/#{name}")
                driver.refresh()
                wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "main h2")))
                steps.get(name, lambda: None)()
                time.sleep(0.3)
                driver.save_screenshot(os.path.join(SHOTS, f"{name}-{width}.png"))
        print("console: signed in by keyboard; subscription created, edited, its event and delivery shown, "
              f"a replay started; the job form's message shown; a job run now. Screenshots in {SHOTS}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
